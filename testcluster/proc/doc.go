// Package proc runs clusters of real `skiff server` and `skiff worker`
// processes for fault and end-to-end tests: each server and each worker
// is its own process in its own network namespace, connected to the
// others and to the test through a netsim switch, and each worker has a
// private containerd inside its namespace. Tests kill servers and workers
// with SIGKILL, freeze servers with SIGSTOP, isolate them from the network
// and delay their packets, all of which an in-process cluster can only
// imitate; they drive the cluster with the real skiff CLI and reach
// Service ClusterIPs from inside a worker's namespace.
//
// Servers need root, /dev/net/tun and iproute2 (see netsim.Supported);
// tests skip without them unless SKIFF_REQUIRE_FAULTS is set. Workers also
// need containerd, runc, nsenter and the CNI plugins; tests that start
// them skip without them unless SKIFF_REQUIRE_WORKER=1 (SkipUnlessWorkers).
// docs/testing.md describes the network and the tests.
package proc
