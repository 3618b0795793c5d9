// Package routes gives a node routes to the other nodes' pod CIDRs, the
// way flannel's host-gw backend does: for every other Node with a
// spec.podCIDR and an InternalIP, a kernel route "podCIDR via InternalIP".
// Routes are kept current from a Node informer and carry their own
// routing protocol number, so the controller recognises (and removes) its
// routes and no others. It also masquerades pod traffic that leaves the
// cluster pod CIDR, in an nftables table of its own ("skiff-egress").
//
// There is no overlay: every node must reach every other node's
// InternalIP directly on one L2 segment, since the next hop of a route
// must be on-link.
package routes
