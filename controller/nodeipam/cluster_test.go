package nodeipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/controller/nodeipam"
	"github.com/skiffhq/skiff/internal/controllertest"
	"github.com/skiffhq/skiff/testcluster"
)

func createNodes(t *testing.T, ctx context.Context, kc kubernetes.Interface, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%03d", i)}}
		err := controllertest.Create(ctx, func() error {
			_, err := kc.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitCIDRs waits until exactly want nodes exist and all have a pod CIDR,
// then checks the CIDRs are distinct /24s of the cluster CIDR and that
// podCIDRs agrees; it returns node → CIDR.
func waitCIDRs(t *testing.T, ctx context.Context, kc kubernetes.Interface, want int) map[string]string {
	t.Helper()
	var nodes []corev1.Node
	err := testcluster.WaitFor(ctx, func() bool {
		list, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != want {
			return false
		}
		for _, n := range list.Items {
			if n.Spec.PodCIDR == "" {
				return false
			}
		}
		nodes = list.Items
		return true
	})
	if err != nil {
		t.Fatalf("not every one of %d nodes got a pod CIDR", want)
	}
	out := map[string]string{}
	owner := map[string]string{}
	for _, n := range nodes {
		p, err := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil || p.Bits() != 24 || !nodeipam.DefaultClusterCIDR.Contains(p.Addr()) {
			t.Errorf("node %s: pod CIDR %q not a /24 of %v", n.Name, n.Spec.PodCIDR, nodeipam.DefaultClusterCIDR)
		}
		if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
			t.Errorf("node %s: podCIDRs %v, podCIDR %s", n.Name, n.Spec.PodCIDRs, n.Spec.PodCIDR)
		}
		if o, dup := owner[n.Spec.PodCIDR]; dup {
			t.Errorf("nodes %s and %s share %s", o, n.Name, n.Spec.PodCIDR)
		}
		owner[n.Spec.PodCIDR] = n.Name
		out[n.Name] = n.Spec.PodCIDR
	}
	return out
}

func runIPAM(t *testing.T, kc kubernetes.Interface) (stop func()) {
	return controllertest.Start(t, kc, func(e controllertest.Env) controllertest.Runner {
		return nodeipam.New(nodeipam.Config{Client: e.Client, Informers: e.Informers, Recorder: e.Recorder, Log: e.Log})
	})
}

// TestNodeIPAM gives 50 nodes distinct CIDRs, then replaces the controller
// (as a leader change does) while nodes are created and deleted: the new
// one rebuilds from the nodes, keeps every CIDR where it was, assigns no
// duplicate, and reuses the deleted node's CIDR.
func TestNodeIPAM(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := controllertest.Context(t, 3*time.Minute)
	kc := controllertest.Client(t, c, 1)
	stop := runIPAM(t, controllertest.Client(t, c, 0))
	createNodes(t, ctx, kc, 0, 50)
	first := waitCIDRs(t, ctx, kc, 50)
	stop()

	// Between the two controllers: more nodes arrive, one leaves.
	createNodes(t, ctx, kc, 50, 60)
	if err := controllertest.Retry(ctx, func() error { return kc.CoreV1().Nodes().Delete(ctx, "node-007", metav1.DeleteOptions{}) }); err != nil {
		t.Fatal(err)
	}
	runIPAM(t, controllertest.Client(t, c, 2))
	second := waitCIDRs(t, ctx, kc, 59)
	for name, cidr := range first {
		if got, ok := second[name]; ok && got != cidr {
			t.Errorf("node %s moved from %s to %s", name, cidr, got)
		}
	}
	// The rebuilt allocator fills the freed CIDR: the 59 nodes hold
	// exactly the first 59 /24s.
	for i := range 59 {
		cidr := fmt.Sprintf("10.244.%d.0/24", i)
		found := false
		for _, got := range second {
			found = found || got == cidr
		}
		if !found {
			t.Errorf("%s unused after the restart", cidr)
		}
	}

	// A node deleted under the running controller releases its CIDR; a
	// new node still gets a distinct one.
	if err := controllertest.Retry(ctx, func() error { return kc.CoreV1().Nodes().Delete(ctx, "node-010", metav1.DeleteOptions{}) }); err != nil {
		t.Fatal(err)
	}
	createNodes(t, ctx, kc, 60, 61)
	waitCIDRs(t, ctx, kc, 59)
}
