package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
)

// Propose encodes cmd and commits it through the leader, from any node. It
// returns the command's Result (whose Err reports a failed condition) once
// the command is committed and applied on the leader. An error means the
// command was not applied, except when it wraps ErrUnknownOutcome.
func (n *Node) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	return n.ProposeEncoded(ctx, data)
}

// ProposeEncoded is Propose for an already encoded command.
func (n *Node) ProposeEncoded(ctx context.Context, data []byte) (fsm.Result, error) {
	var res fsm.Result
	err := n.onLeader(ctx, func(ctx context.Context) error {
		var err error
		res, err = n.ApplyLocal(ctx, data)
		return err
	}, func(ctx context.Context, leader raft.ServerID) error {
		var err error
		res, err = n.cfg.Forwarder.Propose(ctx, leader, data)
		return err
	})
	return res, err
}

// ApplyLocal commits an encoded command on this node, which must be the
// leader (ErrNotLeader otherwise). It refuses commands that fail to decode
// or exceed fsm.MaxCommandSize before they reach the log, so no replica is
// ever asked to apply an entry it cannot decode.
func (n *Node) ApplyLocal(ctx context.Context, data []byte) (fsm.Result, error) {
	if len(data) > fsm.MaxCommandSize {
		return fsm.Result{}, fmt.Errorf("%w: %d bytes, limit %d", fsm.ErrTooLarge, len(data), fsm.MaxCommandSize)
	}
	if _, err := fsm.Decode(data); err != nil {
		return fsm.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return fsm.Result{}, err
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	f := n.raft.Apply(data, timeout)
	if err := n.waitApplied(ctx, f); err != nil {
		switch {
		case errors.Is(err, ErrUnknownOutcome):
			return fsm.Result{}, err
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return fsm.Result{}, fmt.Errorf("%w: %v", ErrNotLeader, err)
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return fsm.Result{}, fmt.Errorf("raft apply: %w", err)
		case errors.Is(err, raft.ErrRaftShutdown):
			return fsm.Result{}, fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrClosed)
		default:
			return fsm.Result{}, fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
		}
	}
	res, ok := f.Response().(fsm.Result)
	if !ok {
		return fsm.Result{}, fmt.Errorf("raft apply returned %T, want fsm.Result", f.Response())
	}
	return res, nil
}

// shutdownPoll is how often a write waiting for its entry checks whether
// Raft has shut down.
const shutdownPoll = 50 * time.Millisecond

// waitApplied waits for the outcome of f, until ctx ends or Raft shuts
// down; the last two leave the outcome unknown (ErrUnknownOutcome).
//
// f.Error alone can block forever: hashicorp/raft answers the entries it
// has taken from its apply queue when it loses leadership or shuts down,
// but not those still queued (BatchApplyCh buffers up to MaxAppendEntries
// of them, and Apply may even enqueue after the shutdown), and such
// futures never learn of the shutdown (hashicorp/raft#498). A leader shuts
// its Raft down by itself once it has committed its own removal. The
// goroutine that waits on f ends when Raft answers; for an entry Raft
// never answers, it stays blocked, at most MaxAppendEntries of them per
// shutdown.
func (n *Node) waitApplied(ctx context.Context, f raft.ApplyFuture) error {
	answered := make(chan error, 1)
	go func() { answered <- f.Error() }()
	t := time.NewTicker(shutdownPoll)
	defer t.Stop()
	for {
		select {
		case err := <-answered:
			return err
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrUnknownOutcome, ctx.Err())
		case <-n.done:
			return fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrClosed)
		case <-t.C:
			if n.raft.State() == raft.Shutdown {
				select {
				case err := <-answered:
					return err
				default:
					return fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrClosed)
				}
			}
		}
	}
}
