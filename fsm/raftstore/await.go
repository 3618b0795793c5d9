package raftstore

import (
	"context"

	"github.com/hashicorp/raft"
)

// await waits for a Raft future, for ctx to end, or for the node to close,
// and reports which happened. hashicorp/raft does not answer futures still
// queued in its (buffered) apply and verify channels when it shuts down
// (hashicorp/raft#498), so a bare f.Error() can block forever and with it
// Close, which waits for the goroutines that wait on futures. The
// goroutine left behind in that case ends with the process.
func (n *Node) await(ctx context.Context, f raft.Future) (closed bool, err error) {
	errc := make(chan error, 1)
	go func() { errc <- f.Error() }()
	select {
	case err := <-errc:
		return false, err
	case <-ctx.Done():
		return false, ctx.Err()
	case <-n.done:
		return true, ErrClosed
	}
}
