package raftstore

import (
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/internal/crashpoint"
)

// The wrappers below put crash points on the storage path. Open uses them
// only in binaries built with the crashpoints tag (crashpoint.Enabled), so
// a production binary runs the stores unwrapped.

// withCrashPoints wraps the log store and the state machine if crash
// points are compiled in. Restores before started is set are the startup
// restore of the local snapshot (raft.NewRaft does it before returning);
// later ones install a snapshot the leader sent.
func withCrashPoints(logs raft.LogStore, f *fsm.FSM, started *atomic.Bool) (raft.LogStore, raft.FSM) {
	if !crashpoint.Enabled {
		return logs, f
	}
	return crashLogs{logs}, crashFSM{f, started}
}

// crashLogs hits after-log-append once entries are durably in the log.
type crashLogs struct{ raft.LogStore }

func (l crashLogs) StoreLog(log *raft.Log) error {
	err := l.LogStore.StoreLog(log)
	if err == nil {
		crashpoint.Hit(crashpoint.AfterLogAppend)
	}
	return err
}

func (l crashLogs) StoreLogs(logs []*raft.Log) error {
	err := l.LogStore.StoreLogs(logs)
	if err == nil {
		crashpoint.Hit(crashpoint.AfterLogAppend)
	}
	return err
}

// crashFSM hits after-apply after each applied batch, snapshot-persist on
// each write of a snapshot and snapshot-restore or snapshot-install on each
// read of one.
type crashFSM struct {
	*fsm.FSM
	started *atomic.Bool
}

var _ raft.BatchingFSM = crashFSM{}

func (f crashFSM) Apply(l *raft.Log) any {
	r := f.FSM.Apply(l)
	crashpoint.Hit(crashpoint.AfterApply)
	return r
}

func (f crashFSM) ApplyBatch(logs []*raft.Log) []any {
	r := f.FSM.ApplyBatch(logs)
	crashpoint.Hit(crashpoint.AfterApply)
	return r
}

func (f crashFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := f.FSM.Snapshot()
	if err != nil {
		return nil, err
	}
	return crashSnapshot{s}, nil
}

func (f crashFSM) Restore(rc io.ReadCloser) error {
	point := crashpoint.SnapshotRestore
	if f.started.Load() {
		point = crashpoint.SnapshotInstall
	}
	return f.FSM.Restore(crashReader{rc, point})
}

type crashSnapshot struct{ raft.FSMSnapshot }

func (s crashSnapshot) Persist(sink raft.SnapshotSink) error {
	return s.FSMSnapshot.Persist(crashSink{sink})
}

type crashSink struct{ raft.SnapshotSink }

func (s crashSink) Write(p []byte) (int, error) {
	n, err := s.SnapshotSink.Write(p)
	crashpoint.Hit(crashpoint.SnapshotPersist)
	return n, err
}

type crashReader struct {
	io.ReadCloser
	point string
}

func (r crashReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	crashpoint.Hit(r.point)
	return n, err
}
