// Package fsm is Skiff's replicated key-value state machine: the store that
// etcd is for Kubernetes.
//
// The package holds everything that must be identical on every replica:
// the command encoding ([Command], [Encode], [Decode]), the key space with
// create and mod revisions ([Store]), the bounded watch event log
// ([Watcher]), and the snapshot format ([Snapshot], [Store.Restore]).
// [FSM] adapts a Store to hashicorp/raft.
//
// Apply is deterministic: it reads no clock, draws no random numbers and
// never depends on map iteration order. A command's revision is the Raft log
// index of the entry that carried it, so every replica assigns the same
// revisions. A command the store cannot decode stops the replica (see
// [Options.Fatal]) unless the proposer marked it ignorable, so replicas never
// silently diverge.
package fsm
