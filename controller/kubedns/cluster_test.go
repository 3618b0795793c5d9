package kubedns_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/controller/kubedns"
	"github.com/skiffhq/skiff/internal/controllertest"
	"github.com/skiffhq/skiff/testcluster"
)

// endpoints returns node=address of every endpoint of the controller's
// slices, sorted.
func endpoints(ctx context.Context, kc kubernetes.Interface) ([]string, error) {
	list, err := kc.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelManagedBy + "=" + kubedns.ManagedBy})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			out = append(out, *e.NodeName+"="+e.Addresses[0])
		}
	}
	slices.Sort(out)
	return out, nil
}

// TestKubeDNS runs the built-in leader components on a real server: the
// leader creates kube-system/kube-dns at the configured cluster_dns with
// internalTrafficPolicy Local, and keeps one endpoint per node at the
// gateway of the pod CIDR node IPAM gave it, following nodes as they come
// and go; a Service or slice a user breaks is put back.
func TestKubeDNS(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Servers: 1, Controllers: true})
	kc := controllertest.Client(t, c, 0)
	ctx := controllertest.Context(t, time.Minute)
	wantIP := c.Config(0).Network.ClusterDNS.String()
	wait := func(what string, cond func() bool) {
		t.Helper()
		if err := testcluster.WaitFor(ctx, cond); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	var svc *corev1.Service
	wait("the kube-dns service", func() bool {
		s, err := kc.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		svc = s
		return err == nil
	})
	if svc.Spec.ClusterIP != wantIP || *svc.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal ||
		len(svc.Spec.Selector) != 0 || len(svc.Spec.Ports) != 2 {
		t.Fatalf("kube-dns service: %+v", svc.Spec)
	}

	for i := range 3 {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}}
		if err := controllertest.Create(ctx, func() error { _, err := kc.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); return err }); err != nil {
			t.Fatal(err)
		}
	}
	// Node IPAM hands out 10.244.0.0/24, .1.0/24 and .2.0/24 in some order.
	var got []string
	wantEps := func(want ...string) func() bool {
		return func() bool {
			eps, err := endpoints(ctx, kc)
			got = eps
			if err != nil || len(eps) != len(want) {
				return false
			}
			for i, e := range eps {
				if want[i] != "" && e != want[i] {
					return false
				}
			}
			return true
		}
	}
	wait("an endpoint per node", wantEps("", "", ""))
	addr := map[string]bool{}
	for _, e := range got {
		n, err := kc.CoreV1().Nodes().Get(ctx, e[:6], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gw := n.Spec.PodCIDR[:len(n.Spec.PodCIDR)-len("0/24")] + "1"
		if e != n.Name+"="+gw || addr[gw] {
			t.Errorf("endpoint %s: node's pod CIDR is %s", e, n.Spec.PodCIDR)
		}
		addr[gw] = true
	}
	kept := slices.Clone(got)

	if err := kc.CoreV1().Nodes().Delete(ctx, "node-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("node-1's endpoint gone", wantEps(kept[0], kept[2]))

	// A user breaks the Service's ports and deletes the slice: both return.
	err := controllertest.Retry(ctx, func() error {
		s, err := kc.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Ports = s.Spec.Ports[:1]
		_, err = kc.CoreV1().Services("kube-system").Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.DiscoveryV1().EndpointSlices("kube-system").Delete(ctx, "kube-dns-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("the service's ports restored", func() bool {
		s, err := kc.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		return err == nil && len(s.Spec.Ports) == 2
	})
	wait("the slice recreated", wantEps(kept[0], kept[2]))
}
