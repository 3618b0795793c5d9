package raftstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
)

// Recover rewrites the Raft configuration stored in cfg.DataDir so that this
// server is the only voter, for a cluster that has lost its quorum for
// good. The server must be stopped. Everything this server had in its log
// is kept, committed or not: writes the lost servers had acknowledged but
// this one never received are gone, and entries this one held without
// knowing they were committed become committed.
func Recover(cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dbPath := filepath.Join(cfg.DataDir, logFile)
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no raft data at %s: %w", dbPath, err)
	}
	db, err := openLogStore(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	hl := newHCLogger(cfg.Logger.With("component", "raft"))
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hl)
	if err != nil {
		return err
	}
	has, err := raft.HasExistingState(db, db, snaps)
	if err != nil {
		return err
	}
	if !has {
		return errors.New("this server has no raft state to recover")
	}
	addr := raft.ServerAddress(cfg.BindAddr)
	_, trans := raft.NewInmemTransport(addr)
	rc := raftConfig(cfg, hl)
	conf := raft.Configuration{Servers: []raft.Server{{ID: cfg.ID, Address: addr, Suffrage: raft.Voter}}}
	store := fsm.New(fsm.Options{WatchLogSize: cfg.Tuning.WatchLogSize})
	if err := raft.RecoverCluster(rc, &fsm.FSM{Store: store}, db, db, snaps, trans, conf); err != nil {
		return fmt.Errorf("recover raft: %w", err)
	}
	return nil
}
