package raftstore

import (
	"errors"
	"fmt"
	"time"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// logFile is the name of the Raft log and stable store in the data
// directory.
const logFile = "raft.db"

// logStoreOptions are the bbolt settings of raft.db. bbolt never shrinks
// its file: the pages of the entries a snapshot compacts away go to its
// freelist, which after a write burst can hold tens of thousands of pages.
// By default bbolt writes the whole freelist on every commit and keeps it
// as an array it scans to allocate; with about 200,000 free pages that
// made each log write 5-6 times slower for good (BenchmarkLogStoreCommit).
// So, as etcd does, the freelist is kept as a map and not written at all:
// bbolt rebuilds it by scanning the file when it opens it. Files written
// with either setting open with the other.
func logStoreOptions() *bbolt.Options {
	return &bbolt.Options{
		// Another process holding the file (a running server) is an error,
		// not a wait.
		Timeout:        2 * time.Second,
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	}
}

// openLogStore opens (or creates) the raft.db at path.
func openLogStore(path string) (*raftboltdb.BoltStore, error) {
	db, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: logStoreOptions()})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("open raft log %s: another process has it open (is the server still running?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	return db, nil
}
