package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNetworkValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Network)
		want []string // substrings of the errors; none means valid
	}{
		{name: "defaults", edit: func(*Network) {}},
		{name: "IPv6 pods", edit: func(n *Network) { n.PodCIDR, n.NodeCIDRMask = netip.MustParsePrefix("fd00:10::/48"), 64 }},
		{name: "overlap names both", edit: func(n *Network) { n.PodCIDR = netip.MustParsePrefix("10.96.0.0/16") },
			want: []string{"pod_cidr 10.96.0.0/16 overlaps service_cidr 10.96.0.0/12"}},
		{name: "mask not longer", edit: func(n *Network) { n.NodeCIDRMask = 16 },
			want: []string{"node_cidr_mask /16 must be longer than pod_cidr 10.244.0.0/16 and at most /30"}},
		{name: "mask too long", edit: func(n *Network) { n.NodeCIDRMask = 31 }, want: []string{"at most /30"}},
		{name: "a large IPv4 split", edit: func(n *Network) { n.PodCIDR = netip.MustParsePrefix("172.16.0.0/12"); n.NodeCIDRMask = 30 }},
		{name: "too many node CIDRs in IPv6", edit: func(n *Network) { n.PodCIDR, n.NodeCIDRMask = netip.MustParsePrefix("fd00::/32"), 64 },
			want: []string{"into more than 2^24"}},
		{name: "dns outside", edit: func(n *Network) { n.ClusterDNS = netip.MustParseAddr("10.244.0.10") },
			want: []string{"cluster_dns 10.244.0.10 is outside service_cidr 10.96.0.0/12"}},
		{name: "dns network address", edit: func(n *Network) { n.ClusterDNS = netip.MustParseAddr("10.96.0.0") },
			want: []string{"network address"}},
		{name: "missing", edit: func(n *Network) { *n = Network{ClusterDomain: "cluster.local"} },
			want: []string{"pod_cidr is required", "service_cidr is required", "cluster_dns is required"}},
		{name: "bad domain", edit: func(n *Network) { n.ClusterDomain = "Cluster..local" },
			want: []string{`cluster_domain "Cluster..local"`}},
		{name: "domain label ends with dash", edit: func(n *Network) { n.ClusterDomain = "a-.local" }, want: []string{`label "a-"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := DefaultNetwork()
			tt.edit(&n)
			errs := n.validate()
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			all := strings.Join(msgs, "\n")
			if len(tt.want) == 0 && len(errs) > 0 {
				t.Fatalf("unexpected errors: %s", all)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q lack %q", all, w)
				}
			}
		})
	}
}

// TestLoadNetwork reads the network keys from a file and the environment
// and reports a malformed value with its key.
func TestLoadNetwork(t *testing.T) {
	file := "name: s1\npod_cidr: 10.200.0.0/16\nnode_cidr_mask: 26\nservice_cidr: 10.100.0.0/16\ncluster_dns: 10.100.0.53\n"
	s, err := loadServer(writeConfig(t, file), nil, []string{"SKIFF_CLUSTER_DOMAIN=example.internal"}, fakeLookup)
	if err != nil {
		t.Fatal(err)
	}
	want := Network{PodCIDR: netip.MustParsePrefix("10.200.0.0/16"), NodeCIDRMask: 26, ServiceCIDR: netip.MustParsePrefix("10.100.0.0/16"),
		ClusterDNS: netip.MustParseAddr("10.100.0.53"), ClusterDomain: "example.internal"}
	if s.Network != want {
		t.Errorf("got %+v, want %+v", s.Network, want)
	}
	d, err := loadServer(writeConfig(t, "name: s1\n"), nil, nil, fakeLookup)
	if err != nil || d.Network != DefaultNetwork() {
		t.Errorf("defaults: %+v, %v", d.Network, err)
	}
	for _, bad := range []struct{ file, want string }{
		{"pod_cidr: 10.244.1.0/8\n", `pod_cidr: "10.244.1.0/8" is not a CIDR`},
		{"service_cidr: 5\n", "service_cidr: expected a CIDR"},
		{"cluster_dns: dns.local\n", `cluster_dns: "dns.local" is not an IP address`},
	} {
		_, err := loadServer(writeConfig(t, "name: s1\n"+bad.file), nil, nil, fakeLookup)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.file, err, bad.want)
		}
	}
}
