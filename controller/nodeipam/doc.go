// Package nodeipam is node IPAM: it gives every Node a spec.podCIDR (and
// spec.podCIDRs) carved from the cluster pod CIDR, and takes it back when
// the Node is deleted.
//
// No two nodes ever get one CIDR, even across a leader change: Run waits
// for the node informer to sync and rebuilds the [Allocator] from every
// Node's recorded CIDR before it allocates anything (the initial list is
// linearizable, and the new leader's barrier has applied every write of
// the old one), and each assignment is an update carrying the Node's
// resourceVersion, so a concurrent change makes it fail with a conflict
// and the Node is requeued and re-read instead of overwritten. The API
// itself refuses to change a podCIDR once set.
package nodeipam
