// Package crashpoint kills the process at named points of the server's
// storage path, for crash tests. It does anything only in binaries built
// with the crashpoints build tag and started with
// SKIFF_CRASHPOINT=name:N, which kills the process with SIGKILL the N-th
// time Hit(name) runs; in every other binary Hit is an empty function.
//
// Points (see fsm/raftstore): after-log-append (a batch of entries is in
// raft.db), after-apply (a batch is applied to the state machine),
// snapshot-persist (while a snapshot's bytes are written),
// snapshot-restore (while the local snapshot is read back at start) and
// snapshot-install (while a snapshot sent by the leader is read in).
package crashpoint

// Points a server passes, named for SKIFF_CRASHPOINT.
const (
	AfterLogAppend  = "after-log-append"
	AfterApply      = "after-apply"
	SnapshotPersist = "snapshot-persist"
	SnapshotRestore = "snapshot-restore"
	SnapshotInstall = "snapshot-install"
)
