package netproxy

import (
	"net/netip"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

func TestNewRejectsBadConfig(t *testing.T) {
	cs := fake.NewSimpleClientset()
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no node", Config{Client: cs}, "NodeName"},
		{"no client", Config{NodeName: "a"}, "Client"},
		{"IPv6 pod CIDR", Config{Client: cs, NodeName: "a", PodCIDR: netip.MustParsePrefix("fd00::/64")}, "PodCIDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want an error naming %s", err, tc.field)
			}
		})
	}
}
