package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

// memSink is a raft.SnapshotSink that keeps the snapshot in memory.
type memSink struct {
	bytes.Buffer
	w                 io.Writer // nil: write to the buffer
	closed, cancelled bool
}

func (s *memSink) ID() string { return "mem" }

func (s *memSink) Write(p []byte) (int, error) {
	if s.w != nil {
		return s.w.Write(p)
	}
	return s.Buffer.Write(p)
}

func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

// closeRecorder is an io.ReadCloser that records Close.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func commandLog(t testing.TB, index uint64, c Command) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: mustEncode(t, c)}
}

func TestFSMApplyBatch(t *testing.T) {
	logs := []*raft.Log{
		commandLog(t, 1, createCmd("a", "1")),
		{Index: 2, Term: 1, Type: raft.LogConfiguration, Data: []byte("not a command")},
		commandLog(t, 3, putCmd("b", "2")),
		commandLog(t, 4, createCmd("a", "dup")),
		{Index: 5, Term: 2, Type: raft.LogNoop},
		{Index: 6, Term: 2, Type: raft.LogBarrier},
		commandLog(t, 7, txnCmd(updateCmd("a", "3", 1), deleteCmd("b", 3))),
		{Index: 8, Term: 2, Type: raft.LogConfiguration},
	}
	want := []any{
		Result{Rev: 1},
		nil,
		Result{Rev: 3},
		Result{Rev: 4, Code: CodeKeyExists, Failed: "a", CurrentRev: 1},
		nil,
		nil,
		Result{Rev: 7},
		nil,
	}
	f := &FSM{Store: newTestStore(t, Options{})}
	got := f.ApplyBatch(logs)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ApplyBatch = %#v\nwant %#v", got, want)
	}
	if f.Store.Rev() != 8 {
		t.Fatalf("Rev() = %d, want the last index 8", f.Store.Rev())
	}
	wantKVs := []KV{{"a", []byte("3"), 1, 7}}
	if kvs := allKVs(f.Store); !kvsEqual(kvs, wantKVs) {
		t.Fatalf("state = %s, want %s", kvsString(kvs), kvsString(wantKVs))
	}

	// Apply one entry at a time gives the same results and state.
	one := &FSM{Store: newTestStore(t, Options{})}
	for i, l := range logs {
		if r := one.Apply(l); !reflect.DeepEqual(r, want[i]) {
			t.Fatalf("Apply(entry %d) = %#v, want %#v", l.Index, r, want[i])
		}
	}
	if hashOf(one.Store) != hashOf(f.Store) || one.Store.Rev() != f.Store.Rev() {
		t.Fatal("Apply and ApplyBatch reach different states")
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	src := &FSM{Store: sampleStore(t)}
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	wantRev, wantHash := src.Store.Hash()
	// Writes after Snapshot must not reach the persisted snapshot.
	src.ApplyBatch([]*raft.Log{commandLog(t, wantRev+1, putCmd("late", "v"))})

	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("Persist: closed=%v cancelled=%v, want closed only", sink.closed, sink.cancelled)
	}
	dst := &FSM{Store: newTestStore(t, Options{})}
	applyAll(t, dst.Store, putCmd("stale", "x"))
	rc := &closeRecorder{Reader: bytes.NewReader(sink.Bytes())}
	if err := dst.Restore(rc); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if !rc.closed {
		t.Fatal("Restore did not close the snapshot reader")
	}
	if rev, h := dst.Store.Hash(); rev != wantRev || h != wantHash {
		t.Fatalf("restored rev %d hash %x, want rev %d hash %x", rev, h, wantRev, wantHash)
	}
}

func TestFSMRestoreCorrupt(t *testing.T) {
	f := &FSM{Store: newTestStore(t, Options{})}
	applyAll(t, f.Store, putCmd("k", "v"))
	before := hashOf(f.Store)
	rc := &closeRecorder{Reader: bytes.NewReader([]byte("SKIFFSN\x01garbage"))}
	if err := f.Restore(rc); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore error = %v, want ErrBadSnapshot", err)
	}
	if !rc.closed || hashOf(f.Store) != before {
		t.Fatalf("failed Restore: reader closed=%v, store changed=%v", rc.closed, hashOf(f.Store) != before)
	}
}

func TestFSMPersistWriteError(t *testing.T) {
	f := &FSM{Store: sampleStore(t)}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{w: &failWriter{n: 10}}
	if err := snap.Persist(sink); !errors.Is(err, errWrite) {
		t.Fatalf("Persist error = %v, want the sink's error", err)
	}
	if !sink.cancelled || sink.closed {
		t.Fatalf("failed Persist: cancelled=%v closed=%v, want cancelled only", sink.cancelled, sink.closed)
	}
}
