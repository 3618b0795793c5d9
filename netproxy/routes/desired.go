package routes

import (
	"cmp"
	"net/netip"
	"slices"

	v1 "k8s.io/api/core/v1"
)

// Route is one pod route: Dst via Gw.
type Route struct {
	Node string
	Dst  netip.Prefix
	Gw   netip.Addr
}

// Desired returns the routes node self needs: one per other Node with an
// IPv4 pod CIDR and an IPv4 InternalIP, sorted by destination. A CIDR
// claimed by two nodes (never valid; IPAM prevents it) goes to the node
// whose name sorts first, so every node picks the same one.
func Desired(nodes []*v1.Node, self string) []Route {
	var out []Route
	seen := map[netip.Prefix]int{}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *v1.Node) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range sorted {
		if n.Name == self {
			continue
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		gw := internalIPv4(n)
		if !gw.IsValid() {
			continue
		}
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil || !p.Addr().Is4() {
				continue
			}
			p = p.Masked()
			if _, dup := seen[p]; dup {
				continue
			}
			seen[p] = len(out)
			out = append(out, Route{Node: n.Name, Dst: p, Gw: gw})
		}
	}
	slices.SortFunc(out, func(a, b Route) int { return a.Dst.Addr().Compare(b.Dst.Addr()) })
	return out
}

func internalIPv4(n *v1.Node) netip.Addr {
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			return ip
		}
	}
	return netip.Addr{}
}
