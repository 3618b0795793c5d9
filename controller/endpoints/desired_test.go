package endpoints

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// svcOpt and podOpt edit the test objects built by service and pod.
type (
	svcOpt func(*corev1.Service)
	podOpt func(*corev1.Pod)
)

func service(opts ...svcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:  map[string]string{"app": "web"},
			ClusterIP: "10.96.0.20",
			Ports:     []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func pod(name, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
func terminating(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}
func containerPort(n int32) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
}

// summary renders slices compactly: "IPv4 [http/8080/TCP] 10.0.0.1:RSt..." where
// R, S and T are the ready, serving and terminating conditions.
func summary(ss []*discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range ss {
		var ports, eps []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%d/%s", *p.Name, *p.Port, *p.Protocol))
		}
		for _, e := range s.Endpoints {
			flags := ""
			for _, c := range []struct {
				v *bool
				s string
			}{{e.Conditions.Ready, "R"}, {e.Conditions.Serving, "S"}, {e.Conditions.Terminating, "T"}} {
				if *c.v {
					flags += c.s
				} else {
					flags += "-"
				}
			}
			eps = append(eps, strings.Join(e.Addresses, ",")+":"+flags)
		}
		out = append(out, fmt.Sprintf("%s [%s] %s", s.AddressType, strings.Join(ports, " "), strings.Join(eps, " ")))
	}
	return out
}

// epSummary renders Endpoints subsets: "[http/8080] ready=a,b notready=c".
func epSummary(e *corev1.Endpoints) []string {
	var out []string
	for _, s := range e.Subsets {
		var ports, ready, nr []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%d", p.Name, p.Port))
		}
		for _, a := range s.Addresses {
			ready = append(ready, a.IP)
		}
		for _, a := range s.NotReadyAddresses {
			nr = append(nr, a.IP)
		}
		out = append(out, fmt.Sprintf("[%s] ready=%s notready=%s", strings.Join(ports, " "), strings.Join(ready, ","), strings.Join(nr, ",")))
	}
	return out
}

func TestDesired(t *testing.T) {
	tests := []struct {
		name      string
		svc       *corev1.Service
		pods      []*corev1.Pod
		slices    []string
		endpoints []string
	}{
		{name: "no pods gives a placeholder slice", svc: service(),
			slices: []string{"IPv4 [] "}, endpoints: nil},
		{name: "ready and not ready kept apart", svc: service(),
			pods:      []*corev1.Pod{pod("b", "10.0.0.2", notReady), pod("a", "10.0.0.1")},
			slices:    []string{"IPv4 [http/8080/TCP] 10.0.0.1:RS- 10.0.0.2:---"},
			endpoints: []string{"[http/8080] ready=10.0.0.1 notready=10.0.0.2"}},
		{name: "named target port resolved per pod", svc: service(),
			pods:      []*corev1.Pod{pod("a", "10.0.0.1"), pod("b", "10.0.0.2", containerPort(9090))},
			slices:    []string{"IPv4 [http/8080/TCP] 10.0.0.1:RS-", "IPv4 [http/9090/TCP] 10.0.0.2:RS-"},
			endpoints: []string{"[http/8080] ready=10.0.0.1 notready=", "[http/9090] ready=10.0.0.2 notready="}},
		{name: "pod without the named port has no ports", svc: service(),
			pods:   []*corev1.Pod{pod("a", "10.0.0.1", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })},
			slices: []string{"IPv4 [] 10.0.0.1:RS-"}, endpoints: []string{"[] ready=10.0.0.1 notready="}},
		{name: "numeric and defaulted target ports", svc: service(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80, TargetPort: intstr.FromInt32(8081)}, {Name: "b", Port: 53, Protocol: corev1.ProtocolUDP}}
		}),
			pods:      []*corev1.Pod{pod("a", "10.0.0.1")},
			slices:    []string{"IPv4 [a/8081/TCP b/53/UDP] 10.0.0.1:RS-"},
			endpoints: []string{"[a/8081 b/53] ready=10.0.0.1 notready="}},
		{name: "terminating pod stays in slices, leaves Endpoints", svc: service(),
			pods:      []*corev1.Pod{pod("a", "10.0.0.1", terminating), pod("b", "10.0.0.2")},
			slices:    []string{"IPv4 [http/8080/TCP] 10.0.0.1:-ST 10.0.0.2:RS-"},
			endpoints: []string{"[http/8080] ready=10.0.0.2 notready="}},
		{name: "publishNotReadyAddresses", svc: service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods:      []*corev1.Pod{pod("a", "10.0.0.1", terminating), pod("b", "10.0.0.2", notReady)},
			slices:    []string{"IPv4 [http/8080/TCP] 10.0.0.1:RST 10.0.0.2:R--"},
			endpoints: []string{"[http/8080] ready=10.0.0.1,10.0.0.2 notready="}},
		{name: "pods that are not endpoints", svc: service(),
			pods: []*corev1.Pod{
				pod("no-ip", ""),
				pod("done", "10.0.0.3", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				pod("other-ns", "10.0.0.4", func(p *corev1.Pod) { p.Namespace = "other" }),
				pod("other-app", "10.0.0.5", func(p *corev1.Pod) { p.Labels["app"] = "db" }),
				pod("bad-ip", "not-an-ip"),
			},
			slices: []string{"IPv4 [] "}},
		{name: "dual stack gets a slice per family", svc: service(func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		}),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", func(p *corev1.Pod) {
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
			})},
			slices:    []string{"IPv6 [http/8080/TCP] fd00::1:RS-", "IPv4 [http/8080/TCP] 10.0.0.1:RS-"},
			endpoints: []string{"[http/8080] ready=fd00::1 notready="}},
		{name: "IPv6 pods without families add an IPv6 slice", svc: service(),
			pods:      []*corev1.Pod{pod("a", "fd00::1")},
			slices:    []string{"IPv4 [] ", "IPv6 [http/8080/TCP] fd00::1:RS-"},
			endpoints: nil},
		{name: "headless without ports", svc: service(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone; s.Spec.Ports = nil }),
			pods:      []*corev1.Pod{pod("a", "10.0.0.1")},
			slices:    []string{"IPv4 [] 10.0.0.1:RS-"},
			endpoints: []string{"[] ready=10.0.0.1 notready="}},
		{name: "no selector is not managed", svc: service(func(s *corev1.Service) { s.Spec.Selector = nil }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1")}},
		{name: "external name is not managed", svc: service(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotSlices := summary(DesiredSlices(tt.svc, tt.pods))
			if !slices.Equal(gotSlices, tt.slices) {
				t.Errorf("slices:\n got %q\nwant %q", gotSlices, tt.slices)
			}
			ep := DesiredEndpoints(tt.svc, tt.pods)
			if ep == nil {
				if len(tt.slices) != 0 {
					t.Fatal("no Endpoints for a managed Service")
				}
				return
			}
			if got := epSummary(ep); !slices.Equal(got, tt.endpoints) {
				t.Errorf("endpoints:\n got %q\nwant %q", got, tt.endpoints)
			}
		})
	}
}

// TestDesiredSlicesChunked checks the 100-endpoint limit and that slice
// names are distinct and stable.
func TestDesiredSlicesChunked(t *testing.T) {
	var pods []*corev1.Pod
	for i := range 250 {
		pods = append(pods, pod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/200, i%200+1)))
	}
	got := DesiredSlices(service(), pods)
	var sizes []int
	names := map[string]bool{}
	for _, s := range got {
		sizes = append(sizes, len(s.Endpoints))
		names[s.Name] = true
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) || len(names) != 3 {
		t.Fatalf("sizes %v names %v", sizes, names)
	}
	again := DesiredSlices(service(), pods)
	for i := range got {
		if got[i].Name != again[i].Name {
			t.Fatalf("slice names not stable: %s vs %s", got[i].Name, again[i].Name)
		}
	}
}

// TestDesiredMetadata checks labels, owner, node, target and hostname.
func TestDesiredMetadata(t *testing.T) {
	svc := service(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	p := pod("a", "10.0.0.1", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "host-a", "web" })
	ss := DesiredSlices(svc, []*corev1.Pod{p})
	if len(ss) != 1 {
		t.Fatalf("got %d slices", len(ss))
	}
	s := ss[0]
	for k, v := range map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ManagedBy, LabelHeadless: "", "team": "a"} {
		if got, ok := s.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "svc-uid" || !*s.OwnerReferences[0].Controller {
		t.Errorf("owner %+v", s.OwnerReferences)
	}
	e := s.Endpoints[0]
	if *e.NodeName != "n1" || e.TargetRef.Name != "a" || e.TargetRef.UID != "uid-a" || *e.Hostname != "host-a" {
		t.Errorf("endpoint %+v", e)
	}
	ep := DesiredEndpoints(svc, []*corev1.Pod{p})
	a := ep.Subsets[0].Addresses[0]
	if a.Hostname != "host-a" || *a.NodeName != "n1" || a.TargetRef.Name != "a" || ep.Labels[LabelEndpointsManagedBy] != EndpointsManagedBy {
		t.Errorf("endpoints %+v", ep)
	}
}
