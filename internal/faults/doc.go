// Package faults holds Skiff's fault-injection tests: linearizability of
// the API under process kills, pauses, isolation and packet delay
// (checked with porcupine), watches across the same faults, and crash
// points inside a server. The tests run real server processes on a
// simulated network (testcluster/proc) and need root; `make test` runs a
// few runs, `make test-faults` hundreds.
package faults
