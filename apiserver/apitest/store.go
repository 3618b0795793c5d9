package apitest

import (
	"context"
	"sync"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/fsm"
)

// LocalStore is an apiserver.Store over one fsm.Store, with no Raft: a
// proposal is encoded exactly as the replicated path encodes it and applied
// at the next index. It is a fake for unit tests only; the replicated path
// is tested in fsm/raftstore and testcluster.
//
// Its methods may be called concurrently.
type LocalStore struct {
	store *fsm.Store

	// mu serializes Apply calls, whose indexes must increase.
	mu    sync.Mutex
	index uint64
	// term is the Raft term every proposal is applied in, as if one
	// leader had led throughout; SetTerm changes it to stage an election.
	term uint64
}

var _ apiserver.Store = (*LocalStore)(nil)

// NewLocalStore returns an empty LocalStore.
func NewLocalStore() *LocalStore {
	return &LocalStore{store: fsm.New(fsm.Options{}), term: 1}
}

// SetTerm makes later proposals apply in term t, as after an election:
// commands fenced to another term are then refused.
func (s *LocalStore) SetTerm(t uint64) {
	s.mu.Lock()
	s.term = t
	s.mu.Unlock()
}

// Propose encodes cmd, refusing what fsm.Encode refuses (a command over
// fsm.MaxCommandSize is fsm.ErrTooLarge, as from raftstore), and applies it.
func (s *LocalStore) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	if err := ctx.Err(); err != nil {
		return fsm.Result{}, err
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index++
	return s.store.Apply(s.index, s.term, data), nil
}

// Linearize does nothing: the local store is the only replica, so every
// acknowledged write is already applied.
func (s *LocalStore) Linearize(context.Context) error { return nil }

// Store returns the store the proposals are applied to.
func (s *LocalStore) Store() *fsm.Store { return s.store }
