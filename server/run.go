package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/skiffhq/skiff/config"
)

// Run starts a server from cfg and blocks until ctx is cancelled or the
// server fails (for example because an operator removed it from the
// cluster). On cancellation it stops gracefully: a leader hands leadership
// to another server first.
func Run(ctx context.Context, cfg config.Server, log *slog.Logger) error {
	s, err := New(cfg, log)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return s.Close()
	case err := <-s.Failed():
		s.Close()
		return err
	}
}

// ErrRemoved means this server was removed from the Raft configuration.
var ErrRemoved = errors.New("this server was removed from the cluster; wipe its data_dir to join again as a new server")
