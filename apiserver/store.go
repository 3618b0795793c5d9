package apiserver

import (
	"context"

	"github.com/skiffhq/skiff/fsm"
)

// Store is what the API server needs from the replicated store.
// raftstore.Replica implements it.
type Store interface {
	// Propose commits a command through the Raft leader.
	Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error)
	// Linearize waits until the local replica reflects every write
	// acknowledged before the call.
	Linearize(ctx context.Context) error
	// Store is the local replica, for reads and watches.
	Store() *fsm.Store
}
