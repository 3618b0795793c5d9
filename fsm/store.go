package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/btree"
)

// KV is one key with its value and revisions. Values are never modified in
// place once stored, so a KV may be shared with readers without copying.
type KV struct {
	Key       string
	Value     []byte
	CreateRev uint64
	ModRev    uint64
}

func lessKV(a, b *KV) bool { return a.Key < b.Key }

// Options configure a Store.
type Options struct {
	// WatchLogSize is how many events the watch log keeps; a watch from a
	// revision older than the oldest kept event fails with ErrCompacted.
	// Zero means DefaultWatchLogSize.
	WatchLogSize int
	// Fatal is called when a committed entry cannot be applied (an unknown,
	// non-ignorable op or a malformed entry). The default panics: a replica
	// that cannot apply the log must stop rather than diverge.
	Fatal func(error)
}

// DefaultWatchLogSize is the watch log capacity when Options leave it zero.
const DefaultWatchLogSize = 100_000

// Store is the key space. Apply, Restore and Snapshot are called by one
// goroutine (Raft's FSM loop); reads and watches may run concurrently with
// them and with each other.
type Store struct {
	fatal func(error)

	mu   sync.RWMutex
	tree *btree.BTreeG[*KV]
	// rev is the index of the last applied entry.
	rev  uint64
	log  eventLog
	gen  uint64        // bumped by Restore; watchers of an old gen are ended
	wake chan struct{} // closed and replaced whenever events are appended
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.WatchLogSize <= 0 {
		opts.WatchLogSize = DefaultWatchLogSize
	}
	if opts.Fatal == nil {
		opts.Fatal = func(err error) {
			panic(fmt.Sprintf("fsm: cannot apply committed entry, stopping this replica: %v", err))
		}
	}
	return &Store{
		fatal: opts.Fatal,
		tree:  btree.NewG(32, lessKV),
		log:   newEventLog(opts.WatchLogSize),
		wake:  make(chan struct{}),
	}
}

// Apply applies the encoded command carried by the log entry at index,
// committed in Raft term term. Indexes must increase from call to call.
func (s *Store) Apply(index, term uint64, data []byte) Result {
	s.mu.Lock()
	r := s.applyLocked(index, term, data)
	s.wakeLocked()
	s.mu.Unlock()
	return r
}

// ApplyBatch applies consecutive entries under one lock and one watcher
// wake-up; terms[i] is the Raft term of the entry at indexes[i].
func (s *Store) ApplyBatch(indexes, terms []uint64, data [][]byte) []Result {
	out := make([]Result, len(data))
	s.mu.Lock()
	for i := range data {
		out[i] = s.applyLocked(indexes[i], terms[i], data[i])
	}
	s.wakeLocked()
	s.mu.Unlock()
	return out
}

// Advance moves the revision to index without a command: Raft entries that
// carry no command (configuration changes, no-ops) still consume an index.
func (s *Store) Advance(index uint64) {
	s.mu.Lock()
	if index > s.rev {
		s.rev = index
		s.wakeLocked()
	}
	s.mu.Unlock()
}

func (s *Store) applyLocked(index, term uint64, data []byte) Result {
	if index <= s.rev {
		s.fatal(fmt.Errorf("entry %d applied after %d", index, s.rev))
		return Result{Rev: s.rev, Code: CodeSkipped}
	}
	s.rev = index
	c, err := Decode(data)
	if err != nil {
		if c.Ignorable && errors.Is(err, ErrUnknownOp) {
			return Result{Rev: index, Code: CodeSkipped}
		}
		s.fatal(fmt.Errorf("entry %d: %w", index, err))
		return Result{Rev: index, Code: CodeSkipped}
	}
	if c.Term != 0 && c.Term != term {
		// Every replica sees the same term for the entry, so every one
		// refuses it alike.
		return Result{Rev: index, Code: CodeFenced, Term: term}
	}
	switch c.Op {
	case OpNoop:
		return Result{Rev: index}
	case OpTxn:
		for i := range c.Ops {
			if r := s.check(&c.Ops[i], index); r.Code != CodeOK {
				r.FailedIndex = i
				return r
			}
		}
		for i := range c.Ops {
			s.write(&c.Ops[i], index)
		}
		return Result{Rev: index}
	default:
		if r := s.check(&c, index); r.Code != CodeOK {
			return r
		}
		s.write(&c, index)
		return Result{Rev: index}
	}
}

// check reports whether c's condition holds against the current state.
func (s *Store) check(c *Command, index uint64) Result {
	cur, ok := s.tree.Get(&KV{Key: c.Key})
	var curRev uint64
	if ok {
		curRev = cur.ModRev
	}
	fail := func(code Code) Result {
		return Result{Rev: index, Code: code, Failed: c.Key, CurrentRev: curRev}
	}
	switch c.Op {
	case OpCreate:
		if ok {
			return fail(CodeKeyExists)
		}
	case OpUpdate, OpDelete:
		if !ok {
			return fail(CodeKeyNotFound)
		}
		if c.Rev != 0 && c.Rev != curRev {
			return fail(CodeConflict)
		}
	}
	return Result{Rev: index}
}

// write applies c, whose condition holds, and records its event.
func (s *Store) write(c *Command, index uint64) {
	if c.Op == OpDelete {
		prev, _ := s.tree.Delete(&KV{Key: c.Key})
		s.log.append(Event{Type: EventDelete, Key: c.Key, Rev: index, CreateRev: prev.CreateRev, PrevValue: prev.Value})
		return
	}
	// Commands decoded from a log entry alias the entry's buffer; keep a
	// private copy so the stored value never changes underneath a reader.
	val := append([]byte(nil), c.Value...)
	kv := &KV{Key: c.Key, Value: val, CreateRev: index, ModRev: index}
	prev, replaced := s.tree.ReplaceOrInsert(kv)
	ev := Event{Type: EventPut, Key: c.Key, Value: val, Rev: index, CreateRev: index}
	if replaced {
		kv.CreateRev = prev.CreateRev
		ev.CreateRev = prev.CreateRev
		ev.PrevValue = prev.Value
	}
	s.log.append(ev)
}

func (s *Store) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// Rev returns the revision of the last applied entry.
func (s *Store) Rev() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}

// Get returns the key's current value and the store revision it was read at.
func (s *Store) Get(key string) (kv KV, found bool, rev uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p, ok := s.tree.Get(&KV{Key: key}); ok {
		return *p, true, s.rev
	}
	return KV{}, false, s.rev
}

// List returns up to limit keys with the prefix, in key order, starting at
// the first key greater than after (after may be ""), with the store
// revision; more reports whether keys beyond the page exist. limit <= 0
// means no limit.
func (s *Store) List(prefix, after string, limit int) (kvs []KV, more bool, rev uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kvs, more = listTree(s.tree, prefix, after, limit)
	return kvs, more, s.rev
}

func listTree(tree *btree.BTreeG[*KV], prefix, after string, limit int) (kvs []KV, more bool) {
	start := prefix
	if after > start {
		start = after
	}
	tree.AscendGreaterOrEqual(&KV{Key: start}, func(kv *KV) bool {
		if !strings.HasPrefix(kv.Key, prefix) {
			return false
		}
		if kv.Key == after {
			return true
		}
		if limit > 0 && len(kvs) == limit {
			more = true
			return false
		}
		kvs = append(kvs, *kv)
		return true
	})
	return kvs, more
}

// Count returns the number of keys with the prefix.
func (s *Store) Count(prefix string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	s.tree.AscendGreaterOrEqual(&KV{Key: prefix}, func(kv *KV) bool {
		if !strings.HasPrefix(kv.Key, prefix) {
			return false
		}
		n++
		return true
	})
	return n
}

// Hash returns a digest of the whole key space (keys, values and revisions)
// and the revision it describes. Replicas at the same revision have the same
// hash.
func (s *Store) Hash() (rev uint64, sum [32]byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := sha256.New()
	var b [binary.MaxVarintLen64]byte
	put := func(v uint64) { h.Write(b[:binary.PutUvarint(b[:], v)]) }
	s.tree.Ascend(func(kv *KV) bool {
		put(uint64(len(kv.Key)))
		h.Write([]byte(kv.Key))
		put(uint64(len(kv.Value)))
		h.Write(kv.Value)
		put(kv.CreateRev)
		put(kv.ModRev)
		return true
	})
	copy(sum[:], h.Sum(nil))
	return s.rev, sum
}
