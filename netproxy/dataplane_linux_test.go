package netproxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/internal/netns"
	"github.com/skiffhq/skiff/netproxy"
	"github.com/skiffhq/skiff/testcluster"
)

// testNet is a node namespace with pods and an outside client, each
// joined to the node by a veth pair (routed, no bridge, so every flow
// crosses the node's IP layer and its nftables table).
type testNet struct {
	node, client *netns.NS
	pods         []*netns.NS
	podIPs       []netip.Addr
	clientGW     netip.Addr // the node's address on the client link
}

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

func newTestNet(t testing.TB, pods int) *testNet {
	n := &testNet{node: mustNS(t), client: mustNS(t), clientGW: netip.MustParseAddr("198.19.100.1")}
	if err := n.node.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	for i := range pods {
		p := mustNS(t)
		gw := netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 1})
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 2})
		if err := netns.Veth(n.node, fmt.Sprintf("pod%d", i), netip.PrefixFrom(gw, 24), p, "eth0", netip.PrefixFrom(ip, 24)); err != nil {
			t.Fatal(err)
		}
		if err := p.DefaultRoute(gw); err != nil {
			t.Fatal(err)
		}
		n.pods, n.podIPs = append(n.pods, p), append(n.podIPs, ip)
	}
	if err := netns.Veth(n.node, "up0", netip.MustParsePrefix("198.19.100.1/24"), n.client, "eth0", netip.MustParsePrefix("198.19.100.2/24")); err != nil {
		t.Fatal(err)
	}
	if err := n.client.DefaultRoute(n.clientGW); err != nil {
		t.Fatal(err)
	}
	// Like a real node, the node routes unknown destinations (ClusterIPs
	// before DNAT) somewhere: here to the client, inside the test.
	if err := n.node.DefaultRoute(netip.MustParseAddr("198.19.100.2")); err != nil {
		t.Fatal(err)
	}
	return n
}

// serve starts an HTTP server in every pod that answers with the pod's
// index, and stops them when the test ends.
func (n *testNet) serve(t testing.TB) {
	for i, p := range n.pods {
		var ln net.Listener
		if err := p.Do(func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(n.podIPs[i], 8080).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("pod-%d", i)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
}

// client returns an HTTP client whose connections start in ns. With
// keepAlive false every request is a new connection (a new choice of
// endpoint).
func client(ns *netns.NS, keepAlive bool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = ns.Do(func() error {
			c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 1}}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// spread makes n requests and counts the answers per pod.
func spread(t testing.TB, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		body, err := get(c, url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		got[body]++
	}
	return got
}

func startProxier(t testing.TB, ctx context.Context, cs kubernetes.Interface, n *testNet, keep bool) (*netproxy.Proxier, func() error) {
	t.Helper()
	p, err := netproxy.New(netproxy.Config{
		Client: cs, NodeName: "node-a", PodCIDR: netip.MustParsePrefix("198.18.0.0/16"),
		NetNS: n.node.Path(), KeepTable: keep, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() { defer wg.Done(); runErr = p.Run(ctx) }()
	return p, func() error { cancel(); wg.Wait(); return runErr }
}

func waitSynced(t testing.TB, ctx context.Context, p *netproxy.Proxier, after int) {
	t.Helper()
	err := testcluster.WaitFor(ctx, func() bool { _, n := p.LastStats(); return n > after })
	if err != nil {
		t.Fatalf("proxier did not sync: %v", err)
	}
}

func endpointSlice(n *testNet, pods ...int) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(v1.ProtocolTCP)}},
	}
	for _, i := range pods {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{n.podIPs[i].String()}, NodeName: ptr.To("node-a"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	return s
}

func TestDataPlane(t *testing.T) {
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
	svc, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeNodePort, Ports: []v1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "default"},
		Spec:       v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, endpointSlice(n, 0, 1, 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clusterURL := fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP)
	nodePortURL := fmt.Sprintf("http://%s:%d/", n.clientGW, svc.Spec.Ports[0].NodePort)

	p, stop := startProxier(t, ctx, cs, n, true)
	waitSynced(t, ctx, p, 0)
	st, _ := p.LastStats()
	t.Logf("first sync: %+v", st)

	fromNode := client(n.node, false)
	t.Run("ClusterIP spreads over every backend", func(t *testing.T) {
		got := spread(t, fromNode, clusterURL, 90)
		t.Logf("answers from the node: %v", got)
		for i := range n.pods {
			if got[fmt.Sprintf("pod-%d", i)] == 0 {
				t.Errorf("pod-%d got no share of 90 connections: %v", i, got)
			}
		}
		// From a pod, including to itself through the Service (hairpin).
		got = spread(t, client(n.pods[0], false), clusterURL, 60)
		t.Logf("answers from pod-0: %v", got)
		if got["pod-0"] == 0 {
			t.Errorf("pod-0 never reached itself through its Service: %v", got)
		}
	})
	t.Run("NodePort from outside", func(t *testing.T) {
		got := spread(t, client(n.client, false), nodePortURL, 60)
		t.Logf("NodePort answers: %v", got)
		if len(got) != len(n.pods) {
			t.Errorf("NodePort reached %d of %d backends: %v", len(got), len(n.pods), got)
		}
	})
	t.Run("no endpoints rejects", func(t *testing.T) {
		start := time.Now()
		_, err := get(client(n.node, false), fmt.Sprintf("http://%s:80/", empty.Spec.ClusterIP))
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("want connection refused from a Service without endpoints, got %v", err)
		}
		t.Logf("refused in %v", time.Since(start))
	})

	t.Run("removed endpoint leaves rotation within 1s", func(t *testing.T) {
		_, before := p.LastStats()
		upd := endpointSlice(n, 0, 1)
		cur, err := cs.DiscoveryV1().EndpointSlices("default").Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		upd.ResourceVersion = cur.ResourceVersion
		changed := time.Now()
		if _, err := cs.DiscoveryV1().EndpointSlices("default").Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The removal took effect at the first answer after the last
		// one from pod-2, once 50 answers in a row came from others.
		var lastGone time.Time
		clean := 0
		for i := 0; i < 3000 && clean < 50 && time.Since(changed) < 10*time.Second; i++ {
			body, err := get(fromNode, clusterURL)
			if err != nil {
				t.Fatal(err)
			}
			if body == "pod-2" {
				clean, lastGone = 0, time.Time{}
				continue
			}
			if clean == 0 {
				lastGone = time.Now()
			}
			clean++
		}
		if clean < 50 {
			t.Fatal("pod-2 still answered 10s after its removal")
		}
		took := lastGone.Sub(changed)
		waitSynced(t, ctx, p, before)
		st, _ := p.LastStats()
		t.Logf("endpoint removal took effect after %v; the sync sent %+v", took, st)
		if took > time.Second {
			t.Errorf("removal took %v, want within 1s", took)
		}
	})

	t.Run("restart keeps an open connection", func(t *testing.T) {
		keep := client(n.node, true)
		if _, err := get(keep, clusterURL); err != nil {
			t.Fatal(err)
		}
		if err := stop(); err != nil {
			t.Fatalf("first proxier: %v", err)
		}
		var p2 *netproxy.Proxier
		p2, stop = startProxier(t, ctx, cs, n, false)
		waitSynced(t, ctx, p2, 0)
		st, _ := p2.LastStats()
		t.Logf("restart sync sent %+v", st)
		if st.Messages != 0 {
			t.Errorf("a restart over an up-to-date table sent %d messages, want 0", st.Messages)
		}
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", clusterURL, nil)
		resp, err := keep.Do(req)
		if err != nil {
			t.Fatalf("request on the open connection after restart: %v", err)
		}
		resp.Body.Close()
		if !reused {
			t.Error("the request did not reuse the connection opened before the restart")
		}
	})

	if err := stop(); err != nil {
		t.Fatalf("proxier: %v", err)
	}
	nc, err := nftables.New(nftables.WithNetNSFd(n.node.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.ListTableOfFamily(netproxy.TableName, nftables.TableFamilyIPv4); err == nil {
		t.Error("table still present after the proxier stopped without KeepTable")
	}
}
