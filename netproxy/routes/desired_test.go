package routes

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name, cidr, ip string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: cidr}}
	if cidr != "" {
		n.Spec.PodCIDRs = []string{cidr}
	}
	if ip != "" {
		n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeHostName, Address: name}, {Type: v1.NodeInternalIP, Address: ip}}
	}
	return n
}

func TestDesired(t *testing.T) {
	cases := []struct {
		name  string
		nodes []*v1.Node
		want  string
	}{
		{"self is skipped", []*v1.Node{node("a", "10.244.0.0/24", "198.18.0.1")}, "[]"},
		{"others get routes", []*v1.Node{
			node("a", "10.244.0.0/24", "198.18.0.1"),
			node("c", "10.244.2.0/24", "198.18.0.3"),
			node("b", "10.244.1.0/24", "198.18.0.2")},
			"[{b 10.244.1.0/24 198.18.0.2} {c 10.244.2.0/24 198.18.0.3}]"},
		{"no CIDR yet", []*v1.Node{node("b", "", "198.18.0.2")}, "[]"},
		{"no InternalIP", []*v1.Node{node("b", "10.244.1.0/24", "")}, "[]"},
		{"IPv6 CIDR ignored", []*v1.Node{node("b", "fd00:1::/64", "198.18.0.2")}, "[]"},
		{"unmasked CIDR is masked", []*v1.Node{node("b", "10.244.1.7/24", "198.18.0.2")}, "[{b 10.244.1.0/24 198.18.0.2}]"},
		{"duplicate CIDR goes to the first name", []*v1.Node{
			node("d", "10.244.1.0/24", "198.18.0.4"), node("b", "10.244.1.0/24", "198.18.0.2")},
			"[{b 10.244.1.0/24 198.18.0.2}]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(Desired(tc.nodes, "a")); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
