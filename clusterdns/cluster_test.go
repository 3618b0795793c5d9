package clusterdns_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/clusterdns"
	"github.com/skiffhq/skiff/testcluster"
)

// TestFollowsTheAPI runs the server against a real Skiff server: a
// Service created through the API resolves to its ClusterIP, and once
// deleted its name is NXDOMAIN.
func TestFollowsTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	s, err := clusterdns.New(clusterdns.Config{Client: cs, Addr: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-s.Ready():
	case <-ctx.Done():
		t.Fatal("DNS server not ready")
	}
	udp, _ := s.Addrs()
	ask := func() *dns.Msg {
		m, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(new(dns.Msg).SetQuestion("web.default.svc.cluster.local.", dns.TypeA), udp.String())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	svc, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := net.ParseIP(svc.Spec.ClusterIP)
	if err := testcluster.WaitFor(ctx, func() bool {
		m := ask()
		return len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.Equal(want)
	}); err != nil {
		t.Fatalf("web.default.svc.cluster.local never answered %s: %v", want, err)
	}
	if err := cs.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testcluster.WaitFor(ctx, func() bool { return ask().Rcode == dns.RcodeNameError }); err != nil {
		t.Fatalf("deleted Service still resolves: %v", err)
	}
}
