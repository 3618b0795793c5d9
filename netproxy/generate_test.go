package netproxy

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the generator's output")

type svcOpt func(*v1.Service)

func svc(ns, name, ip string, opts ...svcOpt) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func nodePort(p int32) svcOpt {
	return func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = p }
}

func etpLocal(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }
func itpLocal(s *v1.Service) {
	s.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
}
func affinity(s *v1.Service) {
	s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](600)}}
}

type ep struct {
	ip, node string
	ready    bool
}

func slice(ns, svcName, name string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svcName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port), Protocol: ptr.To(v1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip}, NodeName: ptr.To(e.node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)},
		})
	}
	return s
}

func TestGenerateGolden(t *testing.T) {
	cidr := netip.MustParsePrefix("10.244.0.0/16")
	a := ep{"10.244.1.5", "node-a", true}
	b := ep{"10.244.2.7", "node-b", true}
	down := ep{"10.244.2.9", "node-b", false}
	cases := []struct {
		name   string
		svcs   []*v1.Service
		slices []*discoveryv1.EndpointSlice
		node   NodeInfo
	}{
		{name: "empty", node: NodeInfo{PodCIDR: cidr}},
		{name: "clusterip", node: NodeInfo{PodCIDR: cidr},
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10")},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, a, b, down)}},
		{name: "no-endpoints", node: NodeInfo{PodCIDR: cidr},
			svcs: []*v1.Service{svc("default", "web", "10.96.0.10", nodePort(30080))}},
		{name: "nodeport", node: NodeInfo{PodCIDR: cidr},
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10", nodePort(30080))},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, a), slice("default", "web", "web-2", 8080, b)}},
		{name: "external-local", node: NodeInfo{PodCIDR: cidr},
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10", nodePort(30080), etpLocal)},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, a, b)}},
		{name: "external-local-none-here", node: NodeInfo{PodCIDR: cidr},
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10", nodePort(30080), etpLocal)},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, b)}},
		{name: "internal-local", node: NodeInfo{PodCIDR: cidr},
			svcs: []*v1.Service{
				svc("default", "web", "10.96.0.10", nodePort(30080), itpLocal),
				svc("default", "away", "10.96.0.11", itpLocal)},
			slices: []*discoveryv1.EndpointSlice{
				slice("default", "web", "web-1", 8080, a, b),
				slice("default", "away", "away-1", 8080, b)}},
		{name: "affinity", node: NodeInfo{PodCIDR: cidr},
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10", affinity)},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, a, b)}},
		{name: "no-pod-cidr",
			svcs:   []*v1.Service{svc("default", "web", "10.96.0.10")},
			slices: []*discoveryv1.EndpointSlice{slice("default", "web", "web-1", 8080, a)}},
		{name: "skipped-kinds", node: NodeInfo{PodCIDR: cidr},
			svcs: []*v1.Service{
				svc("default", "headless", "None"),
				svc("default", "v6", "fd00::10"),
				func() *v1.Service {
					s := svc("default", "ext", "")
					s.Spec.Type = v1.ServiceTypeExternalName
					return s
				}()},
			slices: []*discoveryv1.EndpointSlice{slice("default", "headless", "h-1", 8080, a)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Generate(Translate(tc.svcs, tc.slices, "node-a"), tc.node).Render()
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("generated table differs from %s (go test -update rewrites it)\n--- got\n%s", path, got)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	svcs := []*v1.Service{svc("a", "x", "10.96.0.1", affinity), svc("b", "y", "10.96.0.2", nodePort(30001), etpLocal)}
	sl := []*discoveryv1.EndpointSlice{
		slice("a", "x", "x1", 80, ep{"10.244.0.1", "n", true}, ep{"10.244.0.2", "m", true}),
		slice("b", "y", "y1", 80, ep{"10.244.0.3", "n", true}),
	}
	first := Generate(Translate(svcs, sl, "n"), NodeInfo{}).Render()
	for range 20 {
		if got := Generate(Translate(svcs, sl, "n"), NodeInfo{}).Render(); got != first {
			t.Fatal("two generations of the same input differ")
		}
	}
}

// TestGeneratorMatchesGenerate checks that the memoising Generator gives
// what the pure function gives across a sequence of changes.
func TestGeneratorMatchesGenerate(t *testing.T) {
	node := NodeInfo{PodCIDR: netip.MustParsePrefix("10.244.0.0/16")}
	g := NewGenerator(node)
	ports := bigCluster(50, 3)
	steps := [][]ServicePort{ports, replaceEndpoint(ports, 3, 9999), replaceEndpoint(ports, 4, 9998), ports[:10], ports}
	for i, st := range steps {
		if got, want := g.Generate(st).Render(), Generate(st, node).Render(); got != want {
			t.Fatalf("step %d: Generator and Generate differ", i)
		}
	}
}
