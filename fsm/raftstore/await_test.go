package raftstore

import (
	"context"
	"errors"
	"testing"
)

// stuckFuture is a Raft future nobody will ever answer, as hashicorp/raft
// leaves those still queued when it shuts down.
type stuckFuture struct{ answer chan error }

func (f stuckFuture) Error() error { return <-f.answer }

func TestAwait(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		n := &Replica{done: make(chan struct{})}
		f := stuckFuture{make(chan error, 1)}
		want := errors.New("lost leadership")
		f.answer <- want
		if closed, err := n.await(context.Background(), f); closed || err != want {
			t.Fatalf("await = %v, %v; want false, %v", closed, err, want)
		}
	})
	t.Run("node closed", func(t *testing.T) {
		n := &Replica{done: make(chan struct{})}
		close(n.done)
		if closed, err := n.await(context.Background(), stuckFuture{make(chan error)}); !closed || !errors.Is(err, ErrClosed) {
			t.Fatalf("await = %v, %v; want true, ErrClosed", closed, err)
		}
	})
	t.Run("caller gave up", func(t *testing.T) {
		n := &Replica{done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if closed, err := n.await(ctx, stuckFuture{make(chan error)}); closed || !errors.Is(err, context.Canceled) {
			t.Fatalf("await = %v, %v; want false, context.Canceled", closed, err)
		}
	})
}
