package routes_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/netns"
	"github.com/skiffhq/skiff/netproxy/routes"
	"github.com/skiffhq/skiff/testcluster"
)

func TestRoutesFollowNodes(t *testing.T) {
	if err := netns.Supported(); err != nil {
		if os.Getenv("SKIFF_REQUIRE_WORKER") == "1" {
			t.Fatalf("SKIFF_REQUIRE_WORKER=1 but network namespaces are unavailable: %v", err)
		}
		t.Skipf("skipping route test (needs root and network namespaces): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	self, peer := mustNS(t), mustNS(t)
	// The node's uplink: the other nodes' InternalIPs are on-link.
	if err := netns.Veth(self, "eth0", netip.MustParsePrefix("198.18.0.1/24"), peer, "eth0", netip.MustParsePrefix("198.18.0.2/24")); err != nil {
		t.Fatal(err)
	}
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"node-a", "node-b", "node-c"} {
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: fmt.Sprintf("10.244.%d.0/24", i)}}
		n, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: fmt.Sprintf("198.18.0.%d", i+1)}}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := routes.New(routes.Config{Client: cs, NodeName: "node-a", ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), NetNS: self.Path()})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() { defer wg.Done(); runErr = rc.Run(rctx) }()

	h, err := self.Handle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	kernel := func() map[string]string {
		rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routes.Protocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rs {
			out[r.Dst.String()] = r.Gw.String()
		}
		return out
	}
	waitRoutes := func(want map[string]string) {
		t.Helper()
		var got map[string]string
		err := testcluster.WaitFor(ctx, func() bool { got = kernel(); return fmt.Sprint(got) == fmt.Sprint(want) })
		if err != nil {
			t.Fatalf("routes %v, want %v: %v", got, want, err)
		}
	}
	waitRoutes(map[string]string{"10.244.1.0/24": "198.18.0.2", "10.244.2.0/24": "198.18.0.3"})

	if err := cs.CoreV1().Nodes().Delete(ctx, "node-c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRoutes(map[string]string{"10.244.1.0/24": "198.18.0.2"})

	conn, err := nftables.New(nftables.WithNetNSFd(self.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ListTableOfFamily(routes.EgressTable, nftables.TableFamilyIPv4); err != nil {
		t.Fatalf("egress table missing: %v", err)
	}
	stop()
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	if got := kernel(); len(got) != 0 {
		t.Errorf("routes left after stop: %v", got)
	}
	if _, err := conn.ListTableOfFamily(routes.EgressTable, nftables.TableFamilyIPv4); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Logf("egress table lookup after stop: %v", err)
		if err == nil {
			t.Error("egress table left after stop")
		}
	}
}

func mustNS(t *testing.T) *netns.NS {
	t.Helper()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}
