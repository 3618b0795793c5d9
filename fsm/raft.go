package fsm

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// FSM adapts a Store to hashicorp/raft. It implements raft.BatchingFSM, so
// Raft hands it committed entries in batches, which the store applies under
// one lock.
type FSM struct {
	Store *Store
}

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one committed entry. Entries that carry no command (Raft's
// own configuration entries) only advance the revision. The returned value
// is a Result.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		f.Store.Advance(l.Index)
		return nil
	}
	return f.Store.Apply(l.Index, l.Term, l.Data)
}

// ApplyBatch applies committed entries in order; see Apply.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	idx := make([]uint64, 0, len(logs))
	terms := make([]uint64, 0, len(logs))
	data := make([][]byte, 0, len(logs))
	pos := make([]int, 0, len(logs))
	flush := func() {
		if len(idx) == 0 {
			return
		}
		for i, r := range f.Store.ApplyBatch(idx, terms, data) {
			out[pos[i]] = r
		}
		idx, terms, data, pos = idx[:0], terms[:0], data[:0], pos[:0]
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			flush()
			f.Store.Advance(l.Index)
			continue
		}
		idx = append(idx, l.Index)
		terms = append(terms, l.Term)
		data = append(data, l.Data)
		pos = append(pos, i)
	}
	flush()
	return out
}

// Snapshot captures the state in O(1); Persist writes it out concurrently
// with later Applies.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return fsmSnapshot{f.Store.Snapshot()}, nil
}

// Restore replaces the store's state with a snapshot written by Persist.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.Store.Restore(rc); err != nil {
		return fmt.Errorf("restore fsm: %w", err)
	}
	return nil
}

type fsmSnapshot struct{ sn *Snapshot }

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
