// Package netns makes network namespaces for tests without `ip netns`,
// which also makes a mount namespace and remounts /sys (hiding the
// cgroup v1 mounts runc needs; see DESIGN.md). A namespace lives as long
// as its file descriptor; code runs inside it on a locked OS thread.
package netns
