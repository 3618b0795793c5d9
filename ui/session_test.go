package ui

import (
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessionsExpire(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration // uses, each after the previous
		alive bool
	}{
		{"fresh", nil, true},
		{"used within the idle timeout", []time.Duration{50 * time.Minute, 50 * time.Minute}, true},
		{"idle too long", []time.Duration{idleTimeout + time.Second}, false},
		{"older than the maximum age though busy", repeat(30*time.Minute, int(maxAge/(30*time.Minute))+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			s := newSessions(c.now)
			ss := s.create("tok", "admin", "admin")
			alive := true
			for _, d := range tc.steps {
				c.t = c.t.Add(d)
				alive = s.get(ss.id) != nil
				if !alive {
					break
				}
			}
			if alive != tc.alive {
				t.Fatalf("alive = %v, want %v", alive, tc.alive)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestSignInCodeWorksOnceWithinItsLifetime(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSessions(c.now)
	code, _ := s.mintCode("tok")
	if tok, ok := s.redeem(code); !ok || tok != "tok" {
		t.Fatalf("first redeem = %q, %v", tok, ok)
	}
	if _, ok := s.redeem(code); ok {
		t.Fatal("a code worked twice")
	}
	late, _ := s.mintCode("tok")
	c.t = c.t.Add(codeTTL + time.Second)
	if _, ok := s.redeem(late); ok {
		t.Fatal("an expired code worked")
	}
}

func TestSessionNeverHoldsMoreThanTheCap(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := newSessions(c.now)
	first := s.create("tok", "admin", "admin")
	for i := 0; i < maxSessions; i++ {
		c.t = c.t.Add(time.Millisecond)
		s.create("tok", "admin", "admin")
	}
	if n := len(s.byID); n != maxSessions {
		t.Fatalf("%d sessions, want the cap %d", n, maxSessions)
	}
	if s.get(first.id) != nil {
		t.Fatal("the oldest session survived past the cap")
	}
}
