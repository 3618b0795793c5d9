package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// watchLeadership follows Raft's leadership notifications. Each time this
// node becomes leader it commits a barrier, after which its state machine
// holds every entry committed in earlier terms; only then does it serve
// read indexes.
func (n *Replica) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case leader := <-n.notifyCh:
			n.mu.Lock()
			n.ready = false
			n.endLeadershipLocked()
			select {
			case <-n.readyCh:
				n.readyCh = make(chan struct{})
			default:
			}
			n.mu.Unlock()
			if !leader {
				n.log.Info("lost leadership")
				continue
			}
			n.log.Info("became leader")
			// Barrier blocks until applied or leadership is lost; a new
			// notification then follows and resets readiness.
			if closed, err := n.await(context.Background(), n.raft.Barrier(0)); closed {
				return
			} else if err != nil {
				n.log.Warn("leader barrier failed", "error", err)
				continue
			}
			n.mu.Lock()
			if n.raft.State() == raft.Leader {
				n.ready = true
				close(n.readyCh)
				n.startLeadershipLocked(n.raft.CurrentTerm())
			}
			n.mu.Unlock()
		}
	}
}

// LeaderReadIndex is the read-index step of a linearizable read, run on
// the leader: it returns the revision that a replica must have applied to
// reflect every write acknowledged before the call. It confirms leadership
// with a quorum after taking the revision, so a deposed leader returns
// ErrNotLeader rather than a stale index.
func (n *Replica) LeaderReadIndex(ctx context.Context) (uint64, error) {
	for {
		if n.raft.State() != raft.Leader {
			return 0, ErrNotLeader
		}
		n.mu.Lock()
		ready, ch := n.ready, n.readyCh
		n.mu.Unlock()
		if ready {
			break
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-n.done:
			t.Stop()
			return 0, ErrClosed
		}
		t.Stop()
	}
	rev := n.store.Rev()
	if closed, err := n.await(ctx, n.raft.VerifyLeader()); err != nil {
		if closed || errors.Is(err, raft.ErrRaftShutdown) {
			return 0, ErrClosed
		}
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %v", ErrNotLeader, err)
	}
	return rev, nil
}

// ReadIndex returns the revision a linearizable read must wait for,
// asking the leader when this node is a follower.
func (n *Replica) ReadIndex(ctx context.Context) (uint64, error) {
	var idx uint64
	err := n.onLeader(ctx, func(ctx context.Context) error {
		var err error
		idx, err = n.LeaderReadIndex(ctx)
		return err
	}, func(ctx context.Context, leader raft.ServerID) error {
		var err error
		idx, err = n.cfg.Forwarder.ReadIndex(ctx, leader)
		return err
	})
	return idx, err
}

// Linearize waits until this replica reflects every write acknowledged
// before the call; a read of the local store after it returns is
// linearizable. A partitioned node cannot reach a leader and fails when ctx
// ends.
func (n *Replica) Linearize(ctx context.Context) error {
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		return err
	}
	return n.store.WaitRev(ctx, idx)
}

// onLeader runs local when this node is the leader and remote with the
// leader's ID otherwise, retrying with a short backoff while there is no
// leader or the call lands on a server that just lost leadership.
func (n *Replica) onLeader(ctx context.Context, local func(context.Context) error, remote func(context.Context, raft.ServerID) error) error {
	backoff := 2 * time.Millisecond
	for {
		var err error
		if n.raft.State() == raft.Leader {
			err = local(ctx)
		} else if id, _ := n.Leader(); id != "" && id != n.cfg.ID {
			if n.cfg.Forwarder == nil {
				return fmt.Errorf("%w: this server is a follower and has no forwarder", ErrNotLeader)
			}
			err = remote(ctx, id)
		} else {
			err = ErrNoLeader
		}
		if err == nil || !(errors.Is(err, ErrNotLeader) || errors.Is(err, ErrNoLeader)) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-n.done:
			t.Stop()
			return ErrClosed
		}
		backoff = min(backoff*2, 20*time.Millisecond)
	}
}
