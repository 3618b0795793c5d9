package config

import (
	"fmt"
	"strings"
)

// maxNodeCIDRBits bounds how many node CIDRs a pod CIDR splits into
// (2^24), the limit node IPAM keeps its bookkeeping to.
const maxNodeCIDRBits = 24

// validate checks the address plan; every message names its key.
func (n Network) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !n.PodCIDR.IsValid() {
		add("pod_cidr is required")
	} else {
		// A node needs room for a gateway and a pod: at least 2 host bits.
		maxMask := n.PodCIDR.Addr().BitLen() - 2
		switch {
		case n.NodeCIDRMask <= n.PodCIDR.Bits() || n.NodeCIDRMask > maxMask:
			add("node_cidr_mask /%d must be longer than pod_cidr %v and at most /%d", n.NodeCIDRMask, n.PodCIDR, maxMask)
		case n.NodeCIDRMask-n.PodCIDR.Bits() > maxNodeCIDRBits:
			add("node_cidr_mask /%d splits pod_cidr %v into more than 2^%d node CIDRs", n.NodeCIDRMask, n.PodCIDR, maxNodeCIDRBits)
		}
	}
	if !n.ServiceCIDR.IsValid() {
		add("service_cidr is required")
	}
	if n.PodCIDR.IsValid() && n.ServiceCIDR.IsValid() && n.PodCIDR.Overlaps(n.ServiceCIDR) {
		add("pod_cidr %v overlaps service_cidr %v", n.PodCIDR, n.ServiceCIDR)
	}
	switch {
	case !n.ClusterDNS.IsValid():
		add("cluster_dns is required")
	case n.ServiceCIDR.IsValid() && !n.ServiceCIDR.Contains(n.ClusterDNS):
		add("cluster_dns %v is outside service_cidr %v", n.ClusterDNS, n.ServiceCIDR)
	case n.ClusterDNS == n.ServiceCIDR.Masked().Addr():
		add("cluster_dns %v is the network address of service_cidr %v", n.ClusterDNS, n.ServiceCIDR)
	}
	if err := checkDomain(n.ClusterDomain); err != nil {
		add("cluster_domain %q: %w", n.ClusterDomain, err)
	}
	return errs
}

// checkDomain accepts a DNS name of lowercase RFC 1123 labels.
func checkDomain(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("want a DNS name of 1-253 characters")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q: want 1-63 characters, not starting or ending with '-'", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("label %q: use lowercase letters, digits and '-'", label)
			}
		}
	}
	return nil
}
