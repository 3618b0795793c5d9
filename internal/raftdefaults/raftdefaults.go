// Package raftdefaults holds the one set of Raft defaults. The replica
// (fsm/raftstore) fills zero knobs from it and the server configuration
// (config) starts from it; it is a leaf so that config, which workers
// import too, does not pull in the store.
package raftdefaults

import "time"

// Tuning is the hashicorp/raft tuning of a server and the size of the
// store's watch event log.
type Tuning struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	// WatchLogSize is the number of events kept for watches.
	WatchLogSize int
}

// WatchLogSize is the default number of events kept for watches.
const WatchLogSize = 100_000

// Get returns the settings measured on loopback and a 2-core machine
// (docs/benchmarks.md): elections in about a second, a snapshot every
// 8,192 entries.
func Get() Tuning {
	return Tuning{
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 150 * time.Millisecond,
		CommitTimeout:      10 * time.Millisecond,
		SnapshotThreshold:  8192,
		SnapshotInterval:   30 * time.Second,
		TrailingLogs:       10240,
		WatchLogSize:       WatchLogSize,
	}
}
