// Package proc runs clusters of real `skiff server` processes for fault
// tests: each server is its own process in its own network namespace,
// connected to the others and to the test through a netsim switch. Tests
// kill servers with SIGKILL, freeze them with SIGSTOP, isolate them from
// the network and delay their packets, all of which an in-process cluster
// can only imitate.
//
// It needs root, /dev/net/tun and iproute2 (see netsim.Supported); tests
// skip without them unless SKIFF_REQUIRE_FAULTS is set.
package proc
