// Package containerd implements worker.Runtime on containerd (client v1.7,
// which talks to the 1.6 daemon Debian ships) and CNI (go-cni with the
// bridge, host-local and portmap plugins).
//
// Everything lives in containerd's namespace "skiff"; nothing in other
// namespaces is listed or touched. A pod's sandbox is pause-less: a
// network namespace the adapter creates (bind-mounted under
// <data_dir>/netns) and hands to each container's OCI spec, so the pod's
// containers share it. Container identity (pod UID, name, namespace,
// container name, attempt) is kept in containerd labels, which is what lets
// a restarted worker adopt running containers. Output is written in the
// CRI log format by the adapter, with size rotation.
package containerd
