// Package testcontainerd starts a private containerd daemon for integration
// tests: Debian's /usr/bin/containerd (v1.6) as a child process with its own
// config, root, state and sockets, talked to with the containerd v1.7 client.
//
// Start skips the test when the daemon cannot run here (not root, or
// containerd, its runc shim or runc missing), unless SKIFF_REQUIRE_WORKER=1,
// in which case it fails the test instead, so CI cannot pass by skipping.
//
// Each daemon is independent: its grpc socket, root and state live in a
// private directory under os.TempDir (unix socket paths are limited to 108
// bytes, which t.TempDir's long names can exceed). One thing is shared by all
// daemons on a host: runc's state directory (/run/containerd/runc/<namespace>
// by default), so two daemons must not run containers with the same ID in
// the same namespace at the same time. Tests that could collide should use
// unique container IDs (pod UIDs are) or the RuncRoot runtime option.
package testcontainerd
