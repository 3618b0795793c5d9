package clusterdns_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/clusterdns"
	"github.com/skiffhq/skiff/internal/netns"
	"github.com/skiffhq/skiff/netproxy"
	"github.com/skiffhq/skiff/testcluster"
)

func requireNetns(t testing.TB) {
	t.Helper()
	if err := netns.Supported(); err != nil {
		if os.Getenv("SKIFF_REQUIRE_WORKER") == "1" {
			t.Fatalf("SKIFF_REQUIRE_WORKER=1 but network namespaces are unavailable: %v", err)
		}
		t.Skipf("skipping data-plane test (needs root and network namespaces): %v", err)
	}
}

func mustNS(t testing.TB) *netns.NS {
	t.Helper()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// TestClusterIPReachesNodeDNS proves the whole path a pod's query takes,
// with the built-in leader components on a real server: the leader keeps
// kube-system/kube-dns at cluster_dns with an endpoint per node at its
// pod CIDR's gateway; netproxy, in a node namespace the test makes, DNATs
// the ClusterIP to its own node's endpoint only (internalTrafficPolicy
// Local: node-b's endpoint, which nothing answers, never gets a query);
// and the node's DNS server, listening on the gateway, answers a pod in
// another namespace the test makes, and the node itself, over UDP and
// TCP.
func TestClusterIPReachesNodeDNS(t *testing.T) {
	requireNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := testcluster.Start(t, testcluster.Options{Servers: 1, Controllers: true})
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	clusterDNS := c.Config(0).Network.ClusterDNS
	for name, cidr := range map[string]string{"node-a": "198.18.7.0/24", "node-b": "198.18.8.0/24"} {
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}}}
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	web, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	node, pod := mustNS(t), mustNS(t)
	gw, err := clusterdns.NodeAddr("198.18.7.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Veth(node, "pod0", netip.PrefixFrom(gw, 24), pod, "eth0", netip.MustParsePrefix("198.18.7.2/24")); err != nil {
		t.Fatal(err)
	}
	if err := pod.DefaultRoute(gw); err != nil {
		t.Fatal(err)
	}
	// Like a real node, the node routes unknown destinations (a ClusterIP
	// before DNAT) somewhere: here into the test's pod namespace.
	if err := node.DefaultRoute(netip.MustParseAddr("198.18.7.2")); err != nil {
		t.Fatal(err)
	}

	px, err := netproxy.New(netproxy.Config{Client: cs, NodeName: "node-a", PodCIDR: netip.MustParsePrefix("198.18.0.0/16"), NetNS: node.Path()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := clusterdns.New(clusterdns.Config{Client: cs, Addr: netip.AddrPortFrom(gw, 53).String(), Upstreams: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		if err := px.Run(ctx); err != nil {
			t.Errorf("netproxy: %v", err)
		}
	})
	// The server's sockets are made on Run's thread, inside the node.
	wg.Go(func() {
		if err := node.Do(func() error { return ds.Run(ctx) }); err != nil {
			t.Errorf("clusterdns: %v", err)
		}
	})

	server := netip.AddrPortFrom(clusterDNS, 53).String()
	query := func(from *netns.NS, network, name string) (string, error) {
		var resp *dns.Msg
		err := from.Do(func() (err error) {
			c := &dns.Client{Net: network, Timeout: time.Second}
			resp, _, err = c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), server)
			return err
		})
		if err != nil {
			return "", err
		}
		if len(resp.Answer) != 1 {
			return "", fmt.Errorf("%s: %d answers", dns.RcodeToString[resp.Rcode], len(resp.Answer))
		}
		a, ok := resp.Answer[0].(*dns.A)
		if !ok {
			return "", fmt.Errorf("answer %v", resp.Answer[0])
		}
		return a.A.String(), nil
	}
	// The first answer waits for the leader's Service and slice and for
	// netproxy's first sync.
	err = testcluster.WaitFor(ctx, func() bool {
		_, err := query(pod, "udp", "web.default.svc.cluster.local.")
		return err == nil
	})
	if err != nil {
		t.Fatalf("no answer through %s: %v", server, err)
	}
	// Then every query is answered, from the pod and from the node itself
	// (host-network clients): none goes to node-b's endpoint.
	for i := range 20 {
		for _, from := range []*netns.NS{pod, node} {
			for _, network := range []string{"udp", "tcp"} {
				for name, want := range map[string]string{
					"web.default.svc.cluster.local.":          web.Spec.ClusterIP,
					"kube-dns.kube-system.svc.cluster.local.": clusterDNS.String(),
				} {
					got, err := query(from, network, name)
					if err != nil || got != want {
						t.Fatalf("query %d from the %s over %s for %s: %q, %v; want %s",
							i, map[bool]string{true: "pod", false: "node"}[from == pod], network, name, got, err, want)
					}
				}
			}
		}
	}
}
