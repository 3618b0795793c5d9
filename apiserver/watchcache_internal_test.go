package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
)

// applyStore is the smallest Store over one fsm.Store: enough to feed
// watch caches in tests of this package (apitest.LocalStore imports it).
type applyStore struct {
	st    *fsm.Store
	index uint64
}

func (s *applyStore) Propose(_ context.Context, cmd *fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	s.index++
	return s.st.Apply(s.index, 1, data), nil
}
func (s *applyStore) Linearize(context.Context) error { return nil }
func (s *applyStore) Store() *fsm.Store               { return s.st }

func (s *applyStore) put(t *testing.T, key, node string) {
	t.Helper()
	v := fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":%q,"namespace":"ns"},"spec":{"nodeName":%q}}`, key, node)
	if _, err := s.Propose(context.Background(), &fsm.Command{Op: fsm.OpPut, Key: "/registry/pods/ns/" + key, Value: []byte(v)}); err != nil {
		t.Fatal(err)
	}
}

func nextEvents(t *testing.T, s *watchSub) []*watchEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	evs, _, err := s.next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestWatchCacheShares checks the cache's contracts: watchers of one
// resource share one prepared event (decoded at most once), node-indexed
// watchers get only their node's events, a start older than the cache
// keeps is left to the store's log, and the last watcher to leave stops
// the cache.
func TestWatchCacheShares(t *testing.T) {
	st := &applyStore{st: fsm.New(fsm.Options{})}
	cs := newWatchCaches(st)
	pods := lookup("", "v1", "pods")
	st.put(t, "early", "a")
	start := st.st.Rev()

	all1, ok1 := cs.subscribe(pods, pods.KeyPrefix(""), "", false, start)
	all2, ok2 := cs.subscribe(pods, pods.KeyPrefix("ns"), "", false, start)
	onA, ok3 := cs.subscribe(pods, pods.KeyPrefix(""), "a", true, start)
	onB, ok4 := cs.subscribe(pods, pods.KeyPrefix(""), "b", true, start)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatal("the cache refused a watch from the current revision")
	}
	if _, ok := cs.subscribe(pods, pods.KeyPrefix(""), "", false, start-1); ok {
		t.Fatal("the cache took a watch from before it started; the store's log must serve it")
	}
	st.put(t, "p", "a")
	e1, e2, ea := nextEvents(t, all1), nextEvents(t, all2), nextEvents(t, onA)
	if len(e1) != 1 || len(e2) != 1 || len(ea) != 1 || e1[0] != e2[0] || e1[0] != ea[0] {
		t.Fatalf("watchers got %v, %v, %v: want one shared event", e1, e2, ea)
	}
	if e1[0].cur.object() != e2[0].cur.object() {
		t.Fatal("the event was decoded twice")
	}
	// Moving the pod from a to b reaches both node watchers; b never saw
	// the earlier event.
	st.put(t, "p", "b")
	if ea, eb := nextEvents(t, onA), nextEvents(t, onB); len(ea) != 1 || len(eb) != 1 || ea[0] != eb[0] || eb[0].prevNode != "a" {
		t.Fatalf("move from a to b: a got %v, b got %v", ea, eb)
	}
	// A watcher joining later from an older revision the cache holds
	// gets the events since, from the cache.
	late, ok := cs.subscribe(pods, pods.KeyPrefix(""), "b", true, start)
	if !ok {
		t.Fatal("the cache refused a start it holds")
	}
	if evs := nextEvents(t, late); len(evs) != 1 || evs[0].curNode != "b" {
		t.Fatalf("late watcher of b got %v", evs)
	}
	for _, s := range []*watchSub{all1, all2, onA, onB, late} {
		s.close(cs)
	}
	cs.mu.Lock()
	n := len(cs.byKey)
	cs.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d caches left running after their last watcher left", n)
	}
}

// TestWatchCacheEndsOnRestore checks that a store restore ends every
// cached watch with ErrCompacted (410 to clients), as store watches end.
func TestWatchCacheEndsOnRestore(t *testing.T) {
	st := &applyStore{st: fsm.New(fsm.Options{})}
	cs := newWatchCaches(st)
	pods := lookup("", "v1", "pods")
	sub, ok := cs.subscribe(pods, pods.KeyPrefix(""), "a", true, st.st.Rev())
	if !ok {
		t.Fatal("subscribe refused")
	}
	defer sub.close(cs)
	other := fsm.New(fsm.Options{})
	var buf bytes.Buffer
	if _, err := other.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := st.st.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := sub.next(ctx); !errors.Is(err, fsm.ErrCompacted) {
		t.Fatalf("after a restore: %v, want ErrCompacted", err)
	}
}
