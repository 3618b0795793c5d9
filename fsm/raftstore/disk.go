package raftstore

import (
	"fmt"
	"os"
	"path/filepath"
)

// DiskUsage describes a replica's Raft files. raft.db is a bbolt file:
// compaction after a snapshot frees the pages of the deleted log entries
// but never gives them back to the file system, so LogFileBytes stays at
// its largest size and LogFreeBytes says how much of it new entries will
// reuse before the file grows again.
type DiskUsage struct {
	// LogFileBytes is the size of <data_dir>/raft.db.
	LogFileBytes int64
	// LogFreeBytes is the space in raft.db's free and pending pages as of
	// the last write (zero after opening until the first write).
	LogFreeBytes int64
	// FirstIndex and LastIndex bound the log entries raft.db holds (both
	// zero while it holds none).
	FirstIndex, LastIndex uint64
	// SnapshotBytes is the size of the newest snapshot's state, zero
	// before the first snapshot; SnapshotIndex is the log index it covers.
	SnapshotBytes int64
	SnapshotIndex uint64
	// Snapshots is the number of snapshots kept (at most two).
	Snapshots int
}

// Entries returns the number of log entries raft.db holds.
func (u DiskUsage) Entries() uint64 {
	if u.LastIndex == 0 {
		return 0
	}
	return u.LastIndex - u.FirstIndex + 1
}

// DiskUsage reports the sizes of the replica's Raft log and snapshots. It
// may be called at any time while the node is open.
func (n *Replica) DiskUsage() (DiskUsage, error) {
	var u DiskUsage
	fi, err := os.Stat(filepath.Join(n.cfg.DataDir, logFile))
	if err != nil {
		return u, fmt.Errorf("disk usage: %w", err)
	}
	u.LogFileBytes = fi.Size()
	u.LogFreeBytes = int64(n.db.Stats().FreeAlloc)
	if u.FirstIndex, err = n.db.FirstIndex(); err != nil {
		return u, fmt.Errorf("disk usage: first index: %w", err)
	}
	if u.LastIndex, err = n.db.LastIndex(); err != nil {
		return u, fmt.Errorf("disk usage: last index: %w", err)
	}
	snaps, err := n.snaps.List()
	if err != nil {
		return u, fmt.Errorf("disk usage: list snapshots: %w", err)
	}
	u.Snapshots = len(snaps)
	if len(snaps) > 0 {
		u.SnapshotBytes, u.SnapshotIndex = snaps[0].Size, snaps[0].Index
	}
	return u, nil
}

// Snapshot takes a snapshot now and compacts the log to the last
// raft.trailing_logs entries, as Raft does by itself every
// raft.snapshot_threshold entries. It fails with raft.ErrNothingNewToSnapshot
// if nothing was applied since the last snapshot.
func (n *Replica) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}
