package kubedns

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name, cidr string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
}

func TestSlices(t *testing.T) {
	svc := Service(netip.MustParseAddr("10.96.0.10"))
	svc.UID = "svc-uid"
	many := make([]*corev1.Node, 2500)
	for i := range many {
		many[i] = node(fmt.Sprintf("n%04d", i), fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256))
	}
	tests := []struct {
		name  string
		nodes []*corev1.Node
		want  [][]string // per slice: node=address
	}{
		{"no nodes: one empty slice", nil, [][]string{nil}},
		{"sorted by node, at the pod CIDR's gateway", []*corev1.Node{node("b", "10.244.1.0/24"), node("a", "10.244.0.0/24")},
			[][]string{{"a=10.244.0.1", "b=10.244.1.1"}}},
		{"nodes without an IPv4 pod CIDR are left out",
			[]*corev1.Node{node("a", ""), node("b", "fd00::/64"), node("c", "garbage"), node("d", "10.0.0.4/31"), node("e", "10.0.0.0/30")},
			[][]string{{"e=10.0.0.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Slices(svc, tt.nodes)
			if len(got) != len(tt.want) {
				t.Fatalf("%d slices, want %d", len(got), len(tt.want))
			}
			for i, s := range got {
				if s.Name != fmt.Sprintf("kube-dns-%d", i) || s.Namespace != "kube-system" || s.Labels["kubernetes.io/service-name"] != "kube-dns" ||
					s.Labels["endpointslice.kubernetes.io/managed-by"] != ManagedBy || s.OwnerReferences[0].UID != "svc-uid" || len(s.Ports) != 2 {
					t.Errorf("slice %d: metadata or ports wrong: %+v", i, s)
				}
				var eps []string
				for _, e := range s.Endpoints {
					if !*e.Conditions.Ready || !*e.Conditions.Serving || *e.Conditions.Terminating {
						t.Errorf("endpoint %v: conditions %+v", e.Addresses, e.Conditions)
					}
					eps = append(eps, *e.NodeName+"="+e.Addresses[0])
				}
				if fmt.Sprint(eps) != fmt.Sprint(tt.want[i]) {
					t.Errorf("slice %d: endpoints %v, want %v", i, eps, tt.want[i])
				}
			}
		})
	}
	t.Run("a large cluster is split at 1000 endpoints", func(t *testing.T) {
		got := Slices(svc, many)
		if len(got) != 3 || len(got[0].Endpoints) != 1000 || len(got[1].Endpoints) != 1000 || len(got[2].Endpoints) != 500 {
			t.Fatalf("got %d slices", len(got))
		}
		if *got[2].Endpoints[499].NodeName != "n2499" {
			t.Errorf("last endpoint is %s", *got[2].Endpoints[499].NodeName)
		}
	})
}

func TestServiceDrifted(t *testing.T) {
	want := Service(netip.MustParseAddr("10.96.0.10"))
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	for _, tt := range []struct {
		name string
		edit func(*corev1.Service)
		want bool
	}{
		{"same", func(*corev1.Service) {}, false},
		{"a selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"a": "b"} }, true},
		{"policy Cluster", func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = &cluster }, true},
		{"no policy", func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil }, true},
		{"a port less", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:1] }, true},
		{"another port", func(s *corev1.Service) { s.Spec.Ports[1].Port = 5353 }, true},
		{"labels are the user's", func(s *corev1.Service) { s.Labels = nil }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			have := want.DeepCopy()
			tt.edit(have)
			if got := serviceDrifted(have, want); got != tt.want {
				t.Errorf("serviceDrifted = %v, want %v", got, tt.want)
			}
		})
	}
}
