package raftstore

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// shutdownPoll is how often a wait on a future checks whether Raft has
// shut down by itself.
const shutdownPoll = 50 * time.Millisecond

// await waits for a Raft future, for ctx to end, or for Raft to go away
// (the node closed, or Raft shut itself down, as a leader does once it has
// committed its own removal), and reports which happened.
//
// f.Error alone can block forever: hashicorp/raft answers the futures it
// has taken from its queues when it loses leadership or shuts down, but
// not those still queued (BatchApplyCh buffers up to MaxAppendEntries
// applies, the verify channel 64 checks), and such futures never learn of
// the shutdown (hashicorp/raft#498). The goroutine left waiting on such a
// future stays blocked, at most one per queued entry of a shutdown.
func (n *Replica) await(ctx context.Context, f raft.Future) (closed bool, err error) {
	errc := make(chan error, 1)
	go func() { errc <- f.Error() }()
	t := time.NewTicker(shutdownPoll)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			return false, err
		case <-ctx.Done():
			return false, ctx.Err()
		case <-n.done:
			return true, ErrClosed
		case <-t.C:
			if n.raft != nil && n.raft.State() == raft.Shutdown {
				select {
				case err := <-errc:
					return false, err
				default:
					return true, ErrClosed
				}
			}
		}
	}
}
