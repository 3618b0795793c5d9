package clusterdns

import (
	"fmt"
	"net/netip"
)

// The kube-dns Service: its name, namespace and ports, as Kubernetes
// spells them, so clients that look for the cluster DNS by name find it.
const (
	ServiceName      = "kube-dns"
	ServiceNamespace = "kube-system"
	PortNameUDP      = "dns"
	PortNameTCP      = "dns-tcp"
	Port             = 53
)

// NodeAddr returns the address a node's DNS server listens on: the
// gateway of the node's pod CIDR, the first address after the network
// address, which the CNI bridge holds (worker/containerd's conflist). Pods
// of the node reach it without a route, and so does the node itself; the
// kube-dns EndpointSlice names it for each node, so the leader and the
// worker agree on it without talking. podCIDR is node.spec.podCIDR.
func NodeAddr(podCIDR string) (netip.Addr, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("pod CIDR %q: %w", podCIDR, err)
	}
	if p.Addr().BitLen()-p.Bits() < 2 {
		return netip.Addr{}, fmt.Errorf("pod CIDR %q: too small for a gateway and a pod", podCIDR)
	}
	return p.Masked().Addr().Next(), nil
}
