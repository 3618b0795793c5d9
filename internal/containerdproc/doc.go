// Package containerdproc runs a private containerd daemon as a child
// process: Debian's /usr/bin/containerd (v1.6) with its own config, root,
// state and sockets under one directory, talked to with the containerd
// v1.7 client.
//
// `skiff dev` uses it when no containerd answers on the usual socket, as
// k3s embeds its runtime; the integration tests use it through
// internal/testcontainerd. The CRI plugin is disabled: Skiff's worker
// drives containerd through its own API.
//
// One thing is shared by every daemon on a host: runc's state directory
// (/run/containerd/runc/<namespace> by default), so two daemons must not run
// containers with the same ID in the same namespace at the same time. Use
// unique container IDs (pod UIDs are) or the RuncRoot runtime option.
package containerdproc
