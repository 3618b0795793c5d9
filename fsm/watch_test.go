package fsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
)

// watchSequence is a history with creates, updates, deletes, txns, failed
// commands and noops; watchSequenceEvents are its events from revision 0.
var watchSequence = []Command{
	createCmd("a/1", "1"),    // 1
	createCmd("b/1", "1"),    // 2
	updateCmd("a/1", "2", 1), // 3
	createCmd("a/1", "dup"),  // 4 fails
	txnCmd(createCmd("a/2", "1"), deleteCmd("b/1", 2), putCmd("c", "1")), // 5
	noopCmd(), // 6
	txnCmd(putCmd("a/3", "1"), updateCmd("c", "x", 1)), // 7 fails
	deleteCmd("a/1", 0),      // 8
	putCmd("b/2", "1"),       // 9
	updateCmd("a/2", "2", 0), // 10
}

var watchSequenceEvents = []evID{
	putEv("a/1", 1), putEv("b/1", 2), putEv("a/1", 3),
	putEv("a/2", 5), delEv("b/1", 5), putEv("c", 5),
	delEv("a/1", 8), putEv("b/2", 9), putEv("a/2", 10),
}

// collect calls Next until it has n events, with a deadline.
func collect(t *testing.T, w *Watcher, n int) []Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var out []Event
	for len(out) < n {
		evs, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, evs...)
	}
	return out
}

func TestWatchSeesEveryEvent(t *testing.T) {
	s := newTestStore(t, Options{})
	w, err := s.Watch("", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Apply from another goroutine while the watcher reads, so events
	// arrive both in batches and one at a time.
	done := make(chan struct{})
	go func() {
		defer close(done)
		applyHistory(t, s, watchSequence)
	}()
	got := evIDs(collect(t, w, len(watchSequenceEvents)))
	<-done
	got = append(got, evIDs(pollEvents(t, w))...)
	if !reflect.DeepEqual(got, watchSequenceEvents) {
		t.Fatalf("events =\n%v\nwant\n%v", got, watchSequenceEvents)
	}
	if w.Rev() != 10 {
		t.Fatalf("Watcher.Rev() = %d, want 10", w.Rev())
	}
}

func TestWatchTxnInOneBatch(t *testing.T) {
	s := newTestStore(t, Options{})
	applyAll(t, s, putCmd("x", "0"))
	w, err := s.Watch("", 1)
	if err != nil {
		t.Fatal(err)
	}
	ch := startNext(context.Background(), w)
	applyCmd(t, s, 2, txnCmd(putCmd("x", "1"), putCmd("y", "1"), createCmd("z", "1")))
	res := awaitNext(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []evID{putEv("x", 2), putEv("y", 2), putEv("z", 2)}
	if got := evIDs(res.evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("Next = %v, want the whole txn %v", got, want)
	}
}

// TestWatchBatchLimitKeepsTxnWhole fills the log so that a txn straddles
// maxBatch: the batch grows past the limit rather than split the txn.
func TestWatchBatchLimitKeepsTxnWhole(t *testing.T) {
	s := newTestStore(t, Options{})
	const singles, txnOps, after = maxBatch - 5, 10, 5
	var idx uint64
	for i := range singles {
		idx++
		applyCmd(t, s, idx, putCmd(fmt.Sprintf("s%04d", i), "v"))
	}
	var ops []Command
	for i := range txnOps {
		ops = append(ops, putCmd(fmt.Sprintf("t%02d", i), "v"))
	}
	idx++
	txnRev := idx
	applyCmd(t, s, idx, txnCmd(ops...))
	for i := range after {
		idx++
		applyCmd(t, s, idx, putCmd(fmt.Sprintf("u%d", i), "v"))
	}
	w, err := s.Watch("", 0)
	if err != nil {
		t.Fatal(err)
	}
	first := pollEvents(t, w)
	if len(first) != singles+txnOps || first[len(first)-1].Rev != txnRev {
		t.Fatalf("first batch has %d events ending at rev %d, want %d ending with the txn at %d",
			len(first), first[len(first)-1].Rev, singles+txnOps, txnRev)
	}
	if second := pollEvents(t, w); len(second) != after || second[0].Rev != txnRev+1 {
		t.Fatalf("second batch = %v, want %d events from rev %d", evIDs(second), after, txnRev+1)
	}
}

func TestWatchPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		want   []evID
	}{
		{"a/", []evID{putEv("a/1", 1), putEv("a/1", 3), putEv("a/2", 5), delEv("a/1", 8), putEv("a/2", 10)}},
		{"b/", []evID{putEv("b/1", 2), delEv("b/1", 5), putEv("b/2", 9)}},
		{"a/2", []evID{putEv("a/2", 5), putEv("a/2", 10)}},
		{"c", []evID{putEv("c", 5)}},
		{"", watchSequenceEvents},
		{"zz", nil},
	}
	s := newTestStore(t, Options{})
	applyHistory(t, s, watchSequence)
	for _, tc := range tests {
		t.Run("prefix "+tc.prefix, func(t *testing.T) {
			w, err := s.Watch(tc.prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := evIDs(pollEvents(t, w)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWatchFromRevision(t *testing.T) {
	tests := []struct {
		name  string
		from  uint64
		apply []uint64 // more puts of key "n" at these indexes
		want  []evID
	}{
		{"middle of history", 4, nil, watchSequenceEvents[3:]},
		{"inside a txn revision", 5, nil, watchSequenceEvents[6:]},
		{"just before a txn", 6, nil, watchSequenceEvents[6:]},
		{"current revision", 10, []uint64{11}, []evID{putEv("n", 11)}},
		{"future revision", 12, []uint64{11, 12, 13}, []evID{putEv("n", 13)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, Options{})
			applyHistory(t, s, watchSequence)
			w, err := s.Watch("", tc.from)
			if err != nil {
				t.Fatal(err)
			}
			for _, idx := range tc.apply {
				applyCmd(t, s, idx, putCmd("n", "v"))
			}
			if got := evIDs(pollEvents(t, w)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Watch from %d: events = %v, want %v", tc.from, got, tc.want)
			}
			if w.Rev() < tc.from {
				t.Fatalf("Watcher.Rev() = %d went below the start revision %d", w.Rev(), tc.from)
			}
		})
	}
}

func TestWatchCompacted(t *testing.T) {
	const logSize = 8
	// 20 puts at revisions 1..20 keep revisions 13..20.
	fill := func(t *testing.T) *Store {
		s := newTestStore(t, Options{WatchLogSize: logSize})
		for i := uint64(1); i <= 20; i++ {
			applyCmd(t, s, i, putCmd(fmt.Sprint("k", i%3), "v"))
		}
		return s
	}
	tests := []struct {
		from      uint64
		wantErr   error
		wantFirst uint64
	}{
		{0, ErrCompacted, 0},
		{11, ErrCompacted, 0},
		{12, nil, 13},
		{15, nil, 16},
		{20, nil, 0},
	}
	if got := fill(t).CompactRevision(); got != 12 {
		t.Fatalf("CompactRevision = %d, want 12 (the last evicted event)", got)
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("from ", tc.from), func(t *testing.T) {
			w, err := fill(t).Watch("", tc.from)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Watch from %d: %v, want %v", tc.from, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			evs := pollEvents(t, w)
			if want := 20 - int(tc.from); len(evs) != want || (want > 0 && evs[0].Rev != tc.wantFirst) {
				t.Fatalf("got %v, want %d events from rev %d", evIDs(evs), want, tc.wantFirst)
			}
		})
	}

	t.Run("slow watcher", func(t *testing.T) {
		s := newTestStore(t, Options{WatchLogSize: logSize})
		w, err := s.Watch("", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(1); i <= logSize+1; i++ {
			applyCmd(t, s, i, putCmd("k", "v"))
		}
		if _, err := w.Next(context.Background()); !errors.Is(err, ErrCompacted) {
			t.Fatalf("Next of a watcher that fell behind: %v, want ErrCompacted", err)
		}
	})

	t.Run("watcher that keeps up", func(t *testing.T) {
		s := newTestStore(t, Options{WatchLogSize: logSize})
		w, err := s.Watch("", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(1); i <= 10*logSize; i++ {
			applyCmd(t, s, i, putCmd("k", "v"))
			if evs := pollEvents(t, w); len(evs) != 1 || evs[0].Rev != i {
				t.Fatalf("after entry %d: events %v", i, evIDs(evs))
			}
		}
	})
}

// TestNextBlocksUntilApply runs in a synctest bubble so that Next is
// known to be blocked (synctest.Wait) before each Apply.
func TestNextBlocksUntilApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestStore(t, Options{})
		w, err := s.Watch("k", 0)
		if err != nil {
			t.Fatal(err)
		}
		ch := startNext(context.Background(), w)
		synctest.Wait()
		// An event outside the prefix wakes Next, which finds nothing and
		// waits again.
		applyCmd(t, s, 1, putCmd("other", "v"))
		synctest.Wait()
		select {
		case r := <-ch:
			t.Fatalf("Next returned %v, %v before a matching event", evIDs(r.evs), r.err)
		default:
		}
		applyCmd(t, s, 2, putCmd("k", "v"))
		res := awaitNext(t, ch)
		if res.err != nil || !reflect.DeepEqual(evIDs(res.evs), []evID{putEv("k", 2)}) {
			t.Fatalf("Next = %v, %v; want the put at 2", evIDs(res.evs), res.err)
		}
	})
}

func TestNextHonoursContext(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			context.Canceled},
		{"expired deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), -1)
		}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newTestStore(t, Options{})
				w, err := s.Watch("", 0)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := tc.ctx()
				ch := startNext(ctx, w)
				synctest.Wait()
				cancel()
				if res := awaitNext(t, ch); !errors.Is(res.err, tc.wantErr) || len(res.evs) != 0 {
					t.Fatalf("Next = %v, %v; want %v", evIDs(res.evs), res.err, tc.wantErr)
				}
				// The watcher stays usable after an abandoned Next.
				applyCmd(t, s, 1, putCmd("k", "v"))
				if got := evIDs(pollEvents(t, w)); !reflect.DeepEqual(got, []evID{putEv("k", 1)}) {
					t.Fatalf("after cancellation: events %v", got)
				}
			})
		})
	}
}

func TestRestoreEndsWatchers(t *testing.T) {
	synctest.Test(t, testRestoreEndsWatchers)
}

func testRestoreEndsWatchers(t *testing.T) {
	src := newTestStore(t, Options{})
	applyHistory(t, src, watchSequence)
	snap := snapshotBytes(t, src) // at revision 10

	s := newTestStore(t, Options{})
	applyAll(t, s, putCmd("old", "1"), putCmd("old", "2"))
	idle, err := s.Watch("", 0)
	if err != nil {
		t.Fatal(err)
	}
	blocked, err := s.Watch("", 2)
	if err != nil {
		t.Fatal(err)
	}
	ch := startNext(context.Background(), blocked)
	synctest.Wait() // Next is waiting when Restore happens
	if err := s.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if res := awaitNext(t, ch); !errors.Is(res.err, ErrCompacted) {
		t.Fatalf("blocked Next after Restore = %v, %v; want ErrCompacted", evIDs(res.evs), res.err)
	}
	if _, err := idle.Next(context.Background()); !errors.Is(err, ErrCompacted) {
		t.Fatalf("idle watcher after Restore: %v, want ErrCompacted", err)
	}
	if _, err := s.Watch("", 9); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Watch before the snapshot revision: %v, want ErrCompacted", err)
	}
	w, err := s.Watch("", 10)
	if err != nil {
		t.Fatalf("Watch from the snapshot revision: %v", err)
	}
	if evs := pollEvents(t, w); len(evs) != 0 {
		t.Fatalf("fresh watcher after Restore has stale events %v", evIDs(evs))
	}
	applyCmd(t, s, 11, putCmd("new", "v"))
	if got := evIDs(pollEvents(t, w)); !reflect.DeepEqual(got, []evID{putEv("new", 11)}) {
		t.Fatalf("events after Restore = %v", got)
	}
}

func TestEventPrevValue(t *testing.T) {
	s := newTestStore(t, Options{})
	w, err := s.Watch("", 0)
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, s,
		createCmd("k", "v1"),                          // 1
		updateCmd("k", "v2", 1),                       // 2
		putCmd("k", "v3"),                             // 3
		deleteCmd("k", 0),                             // 4
		putCmd("k", "v4"),                             // 5
		txnCmd(deleteCmd("k", 5), createCmd("j", "")), // 6
	)
	want := []Event{
		{Type: EventPut, Key: "k", Value: []byte("v1"), Rev: 1, CreateRev: 1},
		{Type: EventPut, Key: "k", Value: []byte("v2"), PrevValue: []byte("v1"), Rev: 2, CreateRev: 1},
		{Type: EventPut, Key: "k", Value: []byte("v3"), PrevValue: []byte("v2"), Rev: 3, CreateRev: 1},
		{Type: EventDelete, Key: "k", PrevValue: []byte("v3"), Rev: 4, CreateRev: 1},
		{Type: EventPut, Key: "k", Value: []byte("v4"), Rev: 5, CreateRev: 5},
		{Type: EventDelete, Key: "k", PrevValue: []byte("v4"), Rev: 6, CreateRev: 5},
		{Type: EventPut, Key: "j", Rev: 6, CreateRev: 6},
	}
	got := pollEvents(t, w)
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %d", len(got), evIDs(got), len(want))
	}
	for i := range want {
		g, e := got[i], want[i]
		if !eventsEqual([]Event{g}, []Event{e}) {
			t.Errorf("event %d = %+v\nwant %+v", i, g, e)
		}
		if e.Type == EventPut && e.PrevValue == nil && g.PrevValue != nil {
			t.Errorf("event %d: create carries PrevValue %q", i, g.PrevValue)
		}
	}
}

// TestConcurrentWatchers runs readers and watchers against a writer; with
// -race it checks the locking, and every watcher must see the full history.
func TestConcurrentWatchers(t *testing.T) {
	const writes, watchers = 300, 4
	s := newTestStore(t, Options{})
	var ws []*Watcher
	for range watchers {
		w, err := s.Watch("", 0)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, watchers+1)
	for _, w := range ws {
		wg.Go(func() {
			var last uint64
			for n := 0; n < writes; {
				evs, err := w.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				for _, ev := range evs {
					if ev.Rev != last+1 {
						errs <- fmt.Errorf("event at rev %d after %d", ev.Rev, last)
						return
					}
					last = ev.Rev
					n++
				}
			}
		})
	}
	wg.Go(func() { // a reader racing the writer
		for ctx.Err() == nil && s.Rev() < writes {
			s.List("", "", 10)
			s.Count("")
			s.Hash()
		}
	})
	for i := uint64(1); i <= writes; i++ {
		applyCmd(t, s, i, putCmd(fmt.Sprint("k", i%7), fmt.Sprint(i)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
