package netproxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/testcluster"
)

// service creates a Service named name with one port 80 → 8080, shaped
// by edit, and its EndpointSlice over pods, of which those in remote
// count as on another node.
func service(t *testing.T, ctx context.Context, cs kubernetes.Interface, n *testNet, name string, edit func(*v1.ServiceSpec), pods []int, remote map[int]bool) *v1.Service {
	t.Helper()
	spec := v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP}}}
	edit(&spec)
	svc, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sl := endpointSlice(n, pods...)
	sl.Name, sl.Labels[discoveryv1.LabelServiceName] = name+"-1", name
	for i, p := range pods {
		if remote[p] {
			sl.Endpoints[i].NodeName = ptr.To("node-b")
		}
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestDataPlanePolicies checks sessionAffinity and the traffic policies
// in the kernel. Pod 2 stands for a pod on another node: its endpoint
// names node-b (it is still reachable, so only the rules keep it out).
func TestDataPlanePolicies(t *testing.T) {
	requireNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n := newTestNet(t, 3)
	n.serve(t)
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	all := []int{0, 1, 2}
	remote := map[int]bool{2: true}
	sticky := service(t, ctx, cs, n, "sticky", func(s *v1.ServiceSpec) { s.SessionAffinity = v1.ServiceAffinityClientIP }, all, nil)
	local := service(t, ctx, cs, n, "local", func(s *v1.ServiceSpec) {
		s.Type = v1.ServiceTypeNodePort
		s.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	}, all, remote)
	elsewhere := service(t, ctx, cs, n, "elsewhere", func(s *v1.ServiceSpec) {
		s.Type = v1.ServiceTypeNodePort
		s.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	}, []int{2}, remote)

	p, stop := startProxier(t, ctx, cs, n, false)
	defer stop()
	waitSynced(t, ctx, p, 0)
	fromNode, fromOutside := client(n.node, false), client(n.client, false)

	t.Run("ClientIP affinity keeps one backend", func(t *testing.T) {
		got := spread(t, fromNode, fmt.Sprintf("http://%s:80/", sticky.Spec.ClusterIP), 30)
		if len(got) != 1 {
			t.Errorf("30 connections from one client reached %v, want one backend", got)
		}
	})
	t.Run("internalTrafficPolicy Local", func(t *testing.T) {
		got := spread(t, fromNode, fmt.Sprintf("http://%s:80/", local.Spec.ClusterIP), 60)
		if got["pod-2"] > 0 || got["pod-0"] == 0 || got["pod-1"] == 0 {
			t.Errorf("ClusterIP with internalTrafficPolicy Local reached %v, want pod-0 and pod-1 only", got)
		}
	})
	t.Run("externalTrafficPolicy Local", func(t *testing.T) {
		got := spread(t, fromOutside, fmt.Sprintf("http://%s:%d/", n.clientGW, local.Spec.Ports[0].NodePort), 60)
		if got["pod-2"] > 0 || got["pod-0"] == 0 || got["pod-1"] == 0 {
			t.Errorf("NodePort with externalTrafficPolicy Local reached %v, want pod-0 and pod-1 only", got)
		}
		// No endpoint on this node: traffic from outside is dropped.
		if body, err := get(fromOutside, fmt.Sprintf("http://%s:%d/", n.clientGW, elsewhere.Spec.Ports[0].NodePort)); err == nil {
			t.Errorf("NodePort without a local endpoint answered %q, want no answer", body)
		}
		// The node itself still reaches the remote endpoint.
		if body, err := get(fromNode, fmt.Sprintf("http://%s:%d/", n.clientGW, elsewhere.Spec.Ports[0].NodePort)); err != nil || body != "pod-2" {
			t.Errorf("NodePort from the node: %q, %v; want pod-2", body, err)
		}
	})
}
