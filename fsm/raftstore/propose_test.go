package raftstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
)

// TestProposeReturnsWhenRaftShutsDown shuts Raft down under a leader that
// is taking writes from many goroutines, as Raft does by itself when a
// leader commits its own removal. Every write in flight must return, as
// applied or with an error, by its deadline: none may wait on an entry
// that Raft queued and will never answer for.
func TestProposeReturnsWhenRaftShutsDown(t *testing.T) {
	n, err := Open(Config{ID: "n1", BindAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Bootstrap([]Server{{ID: "n1", Address: n.Addr(), Voter: true}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n.Propose(ctx, &fsm.Command{Op: fsm.OpNoop}); err != nil {
		t.Fatalf("first write: %v", err)
	}

	const (
		writers  = 64
		attempts = 10000 // per writer; far more than run before the shutdown
		deadline = 3 * time.Second
	)
	applied := make(chan struct{}, writers*attempts)
	done := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range attempts {
				wctx, cancel := context.WithTimeout(ctx, deadline)
				_, err := n.Propose(wctx, &fsm.Command{Op: fsm.OpPut, Key: fmt.Sprintf("/k/%d/%d", w, i), Value: []byte("v")})
				cancel()
				if err != nil {
					done <- err
					return
				}
				applied <- struct{}{}
			}
			done <- nil
		}()
	}
	// Shut down once writes are flowing, so that some are queued.
	for range 200 {
		<-applied
	}
	if err := n.Raft().Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	// A write that began just before the shutdown ends by its deadline;
	// allow as much again for the test's own scheduling.
	timeout := time.NewTimer(2 * deadline)
	defer timeout.Stop()
	for returned := 0; returned < writers; returned++ {
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("a writer made %d writes without noticing the shutdown", attempts)
			} else if !errors.Is(err, ErrUnknownOutcome) && !errors.Is(err, ErrNoLeader) && !errors.Is(err, ErrNotLeader) && !errors.Is(err, raft.ErrRaftShutdown) {
				t.Errorf("write failed with %v, want unknown outcome, no leader or not leader", err)
			}
		case <-timeout.C:
			t.Fatalf("%d of %d writers still blocked %v after Raft shut down", writers-returned, writers, 2*deadline)
		}
	}
}
