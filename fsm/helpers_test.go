package fsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// waitTimeout bounds every wait on another goroutine; tests never sleep.
const waitTimeout = 5 * time.Second

func createCmd(key, val string) Command { return Command{Op: OpCreate, Key: key, Value: []byte(val)} }
func putCmd(key, val string) Command    { return Command{Op: OpPut, Key: key, Value: []byte(val)} }
func noopCmd() Command                  { return Command{Op: OpNoop} }
func txnCmd(ops ...Command) Command     { return Command{Op: OpTxn, Ops: ops} }

func updateCmd(key, val string, rev uint64) Command {
	return Command{Op: OpUpdate, Key: key, Value: []byte(val), Rev: rev}
}

func deleteCmd(key string, rev uint64) Command { return Command{Op: OpDelete, Key: key, Rev: rev} }

// mustEncode encodes a command the test knows to be valid.
func mustEncode(t testing.TB, c Command) []byte {
	t.Helper()
	b, err := Encode(&c)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", c, err)
	}
	return b
}

// newTestStore returns a store whose Fatal fails the test. It is safe to
// call from any goroutine because it only uses t.Errorf.
func newTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Fatal == nil {
		opts.Fatal = func(err error) { t.Errorf("unexpected Fatal: %v", err) }
	}
	return New(opts)
}

// fatalRecorder collects the errors passed to Options.Fatal.
type fatalRecorder struct{ errs []error }

func (f *fatalRecorder) fatal(err error) { f.errs = append(f.errs, err) }

// applyCmd encodes c and applies it at index.
func applyCmd(t testing.TB, s *Store, index uint64, c Command) Result {
	t.Helper()
	return s.Apply(index, 1, mustEncode(t, c))
}

// applyAll applies cmds at indexes 1, 2, ... and returns the last index.
func applyAll(t testing.TB, s *Store, cmds ...Command) uint64 {
	t.Helper()
	for i, c := range cmds {
		if r := applyCmd(t, s, uint64(i+1), c); r.Code != CodeOK {
			t.Fatalf("setup command %d (%+v): %v", i, c, r.Err())
		}
	}
	return uint64(len(cmds))
}

// allKVs is the whole key space in key order.
func allKVs(s *Store) []KV {
	kvs, _, _ := s.List("", "", 0)
	return kvs
}

// kvsEqual compares key spaces, treating nil and empty values alike (a
// restored store holds empty values as non-nil slices).
func kvsEqual(a, b []KV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) ||
			a[i].CreateRev != b[i].CreateRev || a[i].ModRev != b[i].ModRev {
			return false
		}
	}
	return true
}

func kvsString(kvs []KV) string {
	var sb strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&sb, "%s=%q@%d/%d ", kv.Key, kv.Value, kv.CreateRev, kv.ModRev)
	}
	return sb.String()
}

// normalize makes decoded and hand-built commands comparable: empty values
// and sub-command lists become nil.
func normalize(c Command) Command {
	if len(c.Value) == 0 {
		c.Value = nil
	}
	if len(c.Ops) == 0 {
		c.Ops = nil
	} else {
		ops := make([]Command, len(c.Ops))
		for i := range c.Ops {
			ops[i] = normalize(c.Ops[i])
		}
		c.Ops = ops
	}
	return c
}

func commandsEqual(a, b Command) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// snapshotBytes writes a snapshot of s.
func snapshotBytes(t testing.TB, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := s.Snapshot().WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// pollEvents returns the events a watcher has ready without blocking.
func pollEvents(t testing.TB, w *Watcher) []Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	evs, err := w.Next(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Next: %v", err)
	}
	return evs
}

// nextResult is the outcome of a Next call made on another goroutine.
type nextResult struct {
	evs []Event
	err error
}

// startNext calls w.Next(ctx) on a new goroutine; the caller must receive
// from the returned channel (awaitNext does, with a deadline).
func startNext(ctx context.Context, w *Watcher) <-chan nextResult {
	ch := make(chan nextResult, 1)
	go func() {
		evs, err := w.Next(ctx)
		ch <- nextResult{evs, err}
	}()
	return ch
}

func awaitNext(t testing.TB, ch <-chan nextResult) nextResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("Next did not return within %v", waitTimeout)
		return nextResult{}
	}
}

// evID identifies an event by what a watcher must see in order.
type evID struct {
	Type EventType
	Key  string
	Rev  uint64
}

func evIDs(evs []Event) []evID {
	var out []evID
	for _, ev := range evs {
		out = append(out, evID{ev.Type, ev.Key, ev.Rev})
	}
	return out
}

func putEv(key string, rev uint64) evID { return evID{EventPut, key, rev} }
func delEv(key string, rev uint64) evID { return evID{EventDelete, key, rev} }

func hashOf(s *Store) [32]byte {
	_, h := s.Hash()
	return h
}

// applyHistory applies cmds at indexes 1, 2, ... whatever their outcome.
func applyHistory(t testing.TB, s *Store, cmds []Command) {
	t.Helper()
	for i, c := range cmds {
		applyCmd(t, s, uint64(i+1), c)
	}
}
