package testcluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// collectEvents follows w until ctx ends, appending to *out under mu.
func collectEvents(ctx context.Context, w *fsm.Watcher, mu *sync.Mutex, out *[]fsm.Event) error {
	for {
		evs, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		*out = append(*out, evs...)
		mu.Unlock()
	}
}

// TestWatchAcrossLeaderChange watches a prefix on a follower from a
// revision while a writer makes sequential writes and the leader is killed
// half way. The watch must deliver exactly the applied writes, in strictly
// increasing revision order, with no gaps and no duplicates; a watch
// resumed on another server from a revision the first one reached must
// deliver the rest without overlap.
func TestWatchAcrossLeaderChange(t *testing.T) {
	const (
		writes = 300
		killAt = writes / 2
		prefix = "/registry/pods/watch/"
	)
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 90*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	survivors := others(3, leader)
	watchOn, resumeOn := survivors[0], survivors[1]

	// An unrelated key before the watch's start revision must not show up.
	mustPut(t, ctx, node(t, c, leader), prefix+"old", "before the watch")
	if err := node(t, c, watchOn).Linearize(ctx); err != nil {
		t.Fatal(err)
	}
	startRev := node(t, c, watchOn).Store().Rev()
	w, err := node(t, c, watchOn).Store().Watch(prefix, startRev)
	if err != nil {
		t.Fatalf("watch from %d: %v", startRev, err)
	}
	var (
		mu     sync.Mutex
		events []fsm.Event
	)
	wctx, stopWatch := context.WithCancel(ctx)
	watchErr := make(chan error, 1)
	go func() { watchErr <- collectEvents(wctx, w, &mu, &events) }()
	defer stopWatch()

	log := newWriteLog()
	value := func(key string) string { return "v:" + key }
	var maxAcked uint64
	for i := 0; i < writes; i++ {
		if i == killAt {
			if now, err := c.Leader(ctx); err != nil || now != leader {
				t.Fatalf("leader moved from %d to %d (%v) before the kill", leader, now, err)
			}
			c.KillServer(leader)
		}
		through := i % 3
		if i >= killAt {
			through = survivors[i%2]
		}
		key := fmt.Sprintf("%sk%04d", prefix, i)
		res, err := propose(ctx, node(t, c, through), &fsm.Command{Op: fsm.OpCreate, Key: key, Value: []byte(value(key))})
		log.record(key, res, err)
		if err == nil {
			maxAcked = max(maxAcked, res.Rev)
		}
	}
	t.Logf("writes: %d acknowledged, %d unknown, %d failed", len(log.acked), len(log.unknown), len(log.failed))
	if len(log.acked) < writes*9/10 {
		t.Fatalf("only %d of %d writes acknowledged: failures %v", len(log.acked), writes, log.failed)
	}

	err = testcluster.WaitFor(ctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0 && events[len(events)-1].Rev >= maxAcked
	})
	stopWatch()
	if werr := <-watchErr; werr != nil {
		t.Fatalf("watch on server %d ended: %v", watchOn, werr)
	}
	if err != nil {
		t.Fatalf("watch never reached revision %d: %v", maxAcked, err)
	}
	checkEvents(t, fmt.Sprintf("watch on server %d", watchOn), events, startRev, log, value)

	// Resume on the other survivor from a revision before the kill, as a
	// client whose server went away would.
	cut := len(events) / 3
	resumeRev := events[cut-1].Rev
	if err := node(t, c, resumeOn).Linearize(ctx); err != nil {
		t.Fatal(err)
	}
	w2, err := node(t, c, resumeOn).Store().Watch(prefix, resumeRev)
	if err != nil {
		t.Fatalf("resume watch on server %d from %d: %v", resumeOn, resumeRev, err)
	}
	var rest []fsm.Event
	for len(rest) < len(events)-cut {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		evs, err := w2.Next(nctx)
		cancel()
		if err != nil {
			t.Fatalf("resumed watch after %d events: %v", len(rest), err)
		}
		rest = append(rest, evs...)
	}
	if len(rest) != len(events)-cut {
		t.Fatalf("resumed watch delivered %d events, want %d", len(rest), len(events)-cut)
	}
	for k, ev := range rest {
		want := events[cut+k]
		if ev.Key != want.Key || ev.Rev != want.Rev || string(ev.Value) != string(want.Value) || ev.Type != want.Type {
			t.Fatalf("resumed event %d: %s at %d, want %s at %d", k, ev.Key, ev.Rev, want.Key, want.Rev)
		}
	}
}

// checkEvents verifies a watch's events against the writes that produced
// them: strictly increasing revisions after startRev, every acknowledged
// write exactly once at its revision with its value, and no write that
// was reported as not applied.
func checkEvents(t *testing.T, who string, events []fsm.Event, startRev uint64, log *writeLog, value func(string) string) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	prev := startRev
	seen := map[string]bool{}
	for k, ev := range events {
		if ev.Rev <= prev {
			t.Fatalf("%s: event %d (%s) at revision %d after revision %d", who, k, ev.Key, ev.Rev, prev)
		}
		prev = ev.Rev
		if seen[ev.Key] {
			t.Fatalf("%s: duplicate event for %s at %d", who, ev.Key, ev.Rev)
		}
		seen[ev.Key] = true
		if ev.Type != fsm.EventPut || ev.CreateRev != ev.Rev || string(ev.Value) != value(ev.Key) {
			t.Errorf("%s: event %+v is not the create the writer made", who, ev)
		}
		res, acked := log.acked[ev.Key]
		switch {
		case acked && res.Rev != ev.Rev:
			t.Errorf("%s: %s delivered at revision %d, acknowledged at %d", who, ev.Key, ev.Rev, res.Rev)
		case !acked && log.failed[ev.Key] != nil:
			t.Errorf("%s: %s delivered although its write failed with %v", who, ev.Key, log.failed[ev.Key])
		case !acked && !log.unknown[ev.Key]:
			t.Errorf("%s: event for %s, which nobody wrote", who, ev.Key)
		}
	}
	for key, res := range log.acked {
		if !seen[key] {
			t.Errorf("%s: acknowledged write %s at revision %d never delivered (gap)", who, key, res.Rev)
		}
	}
}
