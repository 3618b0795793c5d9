package worker

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b backoff
	var waits []time.Duration
	for range 8 {
		at, nb := b.next(t0, t0.Add(time.Second))
		waits = append(waits, at.Sub(t0.Add(time.Second)))
		b = nb
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("restart %d waits %v, want %v (all: %v)", i, waits[i], want[i], waits)
		}
	}
	// A container that ran ten minutes restarts at once and starts over.
	at, nb := b.next(t0, t0.Add(backoffReset))
	if !at.Equal(t0.Add(backoffReset)) || nb.delay != backoffInitial {
		t.Errorf("after a long run: restart at %v with next delay %v, want at once and %v", at.Sub(t0), nb.delay, backoffInitial)
	}
}
