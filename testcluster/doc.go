// Package testcluster starts whole Skiff control planes inside a test: N
// real servers (Raft over loopback TCP, memberlist gossip, the HTTP API) on
// ports chosen by the kernel, with data in the test's temporary directory.
// Servers can be killed as by kill -9, restarted from their data, added,
// and cut off from each other.
package testcluster
