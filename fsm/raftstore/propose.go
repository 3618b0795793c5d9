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
func (n *Replica) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	return n.ProposeEncoded(ctx, data)
}

// ProposeEncoded is Propose for an already encoded command.
func (n *Replica) ProposeEncoded(ctx context.Context, data []byte) (fsm.Result, error) {
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
func (n *Replica) ApplyLocal(ctx context.Context, data []byte) (fsm.Result, error) {
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
	closed, err := n.await(ctx, f)
	switch {
	case closed:
		return fsm.Result{}, fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrClosed)
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The entry may yet commit; the caller stopped waiting.
		return fsm.Result{}, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	if err != nil {
		switch {
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
