package testcluster_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// casWin is one compare-and-swap that the store accepted.
type casWin struct {
	expected uint64 // the mod revision the writer read and named
	rev      uint64 // the revision the write got
	value    string
}

// TestRacingCompareAndSwap has writers on every server race to update one
// key, each reading it linearizably and updating it conditioned on the mod
// revision it read. Exactly one writer may win each revision: the winning
// writes form a single chain in which each names the revision the
// previous one produced, and that chain is exactly the key's history.
func TestRacingCompareAndSwap(t *testing.T) {
	const (
		writers    = 16
		iterations = 25
		key        = "/registry/configmaps/cas/k"
	)
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	initRev := mustPut(t, ctx, node(t, c, 0), key, "init")

	var (
		mu        sync.Mutex
		wins      []casWin
		unknown   = map[string]bool{}
		conflicts int
		wg        sync.WaitGroup
	)
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := c.Server(g % 3).Replica()
			for i := 0; i < iterations && ctx.Err() == nil; i++ {
				kv, ok, err := linearGet(ctx, n, key)
				if err != nil || !ok {
					errs <- fmt.Errorf("writer %d: read: %v (found %v)", g, err, ok)
					return
				}
				value := fmt.Sprintf("writer %d iteration %d", g, i)
				res, err := propose(ctx, n, &fsm.Command{Op: fsm.OpUpdate, Key: key, Value: []byte(value), Rev: kv.ModRev})
				mu.Lock()
				switch {
				case err == nil:
					wins = append(wins, casWin{expected: kv.ModRev, rev: res.Rev, value: value})
				case errors.Is(err, fsm.ErrConflict):
					conflicts++
					if res.CurrentRev <= kv.ModRev {
						errs <- fmt.Errorf("writer %d: conflict reports revision %d, not after the %d it read", g, res.CurrentRev, kv.ModRev)
					}
				case errUnknown(err):
					unknown[value] = true
				default:
					errs <- fmt.Errorf("writer %d: update: %w", g, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d wins, %d conflicts, %d unknown", len(wins), conflicts, len(unknown))
	if len(wins) < iterations {
		t.Fatalf("only %d updates won in %d attempts", len(wins), writers*iterations)
	}

	// No two wins may have named the same revision.
	byExpected := map[uint64]casWin{}
	for _, w := range wins {
		if other, dup := byExpected[w.expected]; dup {
			t.Fatalf("two writes won on revision %d: %q (→%d) and %q (→%d)", w.expected, other.value, other.rev, w.value, w.rev)
		}
		byExpected[w.expected] = w
	}

	// The key's history, as a watch replays it, is the chain of wins.
	w, err := node(t, c, 1).Store().Watch(key, initRev)
	if err != nil {
		t.Fatal(err)
	}
	var history []fsm.Event
	for len(history) < len(wins)+len(unknown) {
		nctx, cancel := context.WithTimeout(ctx, time.Second)
		evs, err := w.Next(nctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && len(unknown) > 0 {
			break // some unknown outcomes were not applied
		}
		if err != nil {
			t.Fatalf("replaying history after %d events: %v", len(history), err)
		}
		history = append(history, evs...)
	}
	slices.SortFunc(wins, func(a, b casWin) int { return cmp.Compare(a.rev, b.rev) })
	prev, k := initRev, 0
	for _, ev := range history {
		if ev.Type != fsm.EventPut {
			t.Fatalf("unexpected event %+v", ev)
		}
		if k < len(wins) && wins[k].rev == ev.Rev {
			if wins[k].expected != prev || wins[k].value != string(ev.Value) {
				t.Fatalf("win %q at %d named revision %d, but the key was last written at %d", wins[k].value, ev.Rev, wins[k].expected, prev)
			}
			k++
		} else if !unknown[string(ev.Value)] {
			t.Fatalf("history holds %q at %d, which no writer won", ev.Value, ev.Rev)
		}
		prev = ev.Rev
	}
	if k != len(wins) {
		t.Fatalf("history of %d writes lacks win %+v", len(history), wins[k])
	}
	for i := 0; i < 3; i++ {
		kv, _, err := linearGet(ctx, node(t, c, i), key)
		if err != nil {
			t.Fatal(err)
		}
		if kv.ModRev != prev {
			t.Errorf("server %d: key at revision %d, history ends at %d", i, kv.ModRev, prev)
		}
	}
}
