package fsm

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/hashicorp/raft"
)

func TestWaitRev(t *testing.T) {
	snapAt := func(rev uint64) []byte {
		s := newTestStore(t, Options{})
		applyAll(t, s, putCmd("k", "v"))
		s.Advance(rev)
		return snapshotBytes(t, s)
	}
	tests := []struct {
		name string
		// reach makes the store reach revision 5 after WaitRev started;
		// nil means the store is already there.
		reach func(t *testing.T, s *Store)
	}{
		{"already applied", nil},
		{"apply", func(t *testing.T, s *Store) { applyCmd(t, s, 5, putCmd("k", "v")) }},
		{"apply past", func(t *testing.T, s *Store) { applyCmd(t, s, 9, putCmd("k", "v")) }},
		{"failed command", func(t *testing.T, s *Store) { applyCmd(t, s, 5, createCmd("base", "dup")) }},
		{"advance", func(t *testing.T, s *Store) { s.Advance(5) }},
		{"configuration entry", func(t *testing.T, s *Store) {
			(&FSM{Store: s}).ApplyBatch([]*raft.Log{{Index: 5, Type: raft.LogConfiguration}})
		}},
		{"batch ending with a configuration entry", func(t *testing.T, s *Store) {
			(&FSM{Store: s}).ApplyBatch([]*raft.Log{commandLog(t, 4, noopCmd()), {Index: 5, Type: raft.LogConfiguration}})
		}},
		{"restore", func(t *testing.T, s *Store) {
			if err := s.Restore(bytes.NewReader(snapAt(7))); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tc := range tests {
		// synctest.Wait returns once WaitRev is durably blocked, so the
		// revision moves while it waits rather than before it looked.
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newTestStore(t, Options{})
				applyAll(t, s, putCmd("base", "v"))
				if tc.reach == nil {
					s.Advance(5)
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- s.WaitRev(ctx, 5) }()
				synctest.Wait()
				if tc.reach != nil {
					tc.reach(t, s)
				}
				synctest.Wait()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("WaitRev(5) = %v at rev %d", err, s.Rev())
					}
				default:
					t.Fatalf("WaitRev(5) still blocked at rev %d", s.Rev())
				}
			})
		})
	}
}

func TestWaitRevHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestStore(t, Options{})
		applyAll(t, s, putCmd("k", "v"))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.WaitRev(ctx, 10) }()
		synctest.Wait()
		applyCmd(t, s, 2, putCmd("k", "v2")) // not far enough
		s.Advance(3)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("WaitRev(10) returned %v at rev %d", err, s.Rev())
		default:
		}
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("WaitRev = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("WaitRev ignored cancellation")
		}
	})
}
