// Package raftstore wires the fsm package to hashicorp/raft: the TCP
// transport, raft-boltdb/v2 for the log and stable store, a file snapshot
// store, bootstrap and membership changes, Propose with transparent
// forwarding to the leader, and linearizable reads.
//
// A [Replica] is one replica. Writes go through [Replica.Propose] on any node:
// the leader applies them, a follower hands them to its [Forwarder], which
// carries them to the leader. Reads come from the local [fsm.Store]; call
// [Replica.Linearize] first for a read that reflects every write acknowledged
// before it began.
package raftstore
