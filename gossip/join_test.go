package gossip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"
)

func TestJoinSkipsSelf(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	a := startAgent(t, "a", withLogger(slog.New(rec)))
	_, port, err := net.SplitHostPort(a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		seeds []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"own address", []string{a.Addr()}},
		{"own address by name", []string{net.JoinHostPort("localhost", port)}},
		{"own address twice", []string{a.Addr(), a.Addr()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := a.Join(ctx, tc.seeds); err != nil {
				t.Fatalf("join %v: %v", tc.seeds, err)
			}
			// Joining itself would succeed too, but log that it joined.
			if rec.has("joined gossip cluster") {
				t.Fatalf("join %v contacted a seed", tc.seeds)
			}
		})
	}
	if got := names(a); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("members %v, want [a]", got)
	}
}

func TestJoinStopsWithContext(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	err := a.Join(ctx, []string{freePort(t)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("join to nobody: got %v, want deadline exceeded", err)
	}
}

func TestJoinRetriesSeedThatStartsLater(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	a := startAgent(t, "a", withLogger(slog.New(rec)))
	seed := freePort(t)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	joined := make(chan error, 1)
	go func() { joined <- a.Join(ctx, []string{seed}) }()
	// Do not leave the goroutine behind if the test fails early.
	t.Cleanup(func() { cancel(); <-joined })

	rec.waitLog(t, "gossip join attempt failed", 10*time.Second)
	b := startAgent(t, "b", withBind(seed))
	if b.Addr() != seed {
		t.Fatalf("b bound %s, want %s", b.Addr(), seed)
	}
	select {
	case err := <-joined:
		joined <- err // For the cleanup.
		if err != nil {
			t.Fatalf("join: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("join did not succeed after the seed started")
	}
	waitFor(t, converge, "a and b to see each other", func() bool {
		return lists(a, "b") && lists(b, "a")
	}, a, b)
}
