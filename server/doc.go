// Package server assembles one Skiff control-plane server from its
// configuration: the Raft replica of the store (fsm/raftstore), gossip
// membership (gossip), automatic bootstrap of a new cluster, the leader's
// reconciliation of gossip members into Raft voters, and the HTTP API with
// health, operator and server-to-server endpoints.
//
// DESIGN.md names cmd/skiff as the place that builds a server; the assembly
// lives here instead so that testcluster starts exactly what `skiff server`
// starts.
package server
