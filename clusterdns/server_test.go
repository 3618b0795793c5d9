package clusterdns

import (
	"context"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func objects() []runtime.Object {
	port := func(name string, p int32, proto v1.Protocol) v1.ServicePort {
		return v1.ServicePort{Name: name, Port: p, Protocol: proto}
	}
	ep := func(ip, host string, ready bool) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
		if host != "" {
			e.Hostname = ptr.To(host)
		}
		return e
	}
	slice := func(ns, svc string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(v1.ProtocolTCP)}},
		}
	}
	return []runtime.Object{
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}, Spec: v1.ServiceSpec{
			ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::10"},
			Ports: []v1.ServicePort{port("http", 80, v1.ProtocolTCP), port("dns", 53, v1.ProtocolUDP)}}},
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"}, Spec: v1.ServiceSpec{
			ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{port("http", 80, v1.ProtocolTCP)}}},
		slice("default", "db", ep("10.244.1.5", "db-0", true), ep("10.244.2.7", "", true), ep("10.244.2.9", "db-2", false)),
		&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "ext"}, Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeExternalName, ExternalName: "example.org"}},
	}
}

func newTestServer(t testing.TB, upstreams ...string) *Server {
	t.Helper()
	if len(upstreams) == 0 {
		upstreams = []string{"127.0.0.1:1"} // nothing listens: forwarding fails fast
	}
	s, err := New(Config{Client: fake.NewSimpleClientset(objects()...), Addr: "127.0.0.1:0", Upstreams: upstreams, ForwardTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run starts s and returns once it answers.
func run(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready in 10s")
	}
}

// summary renders a response's rcode and records compactly.
func summary(m *dns.Msg) string {
	var rrs []string
	for _, rr := range m.Answer {
		f := strings.Fields(rr.String())
		rrs = append(rrs, strings.Join(append([]string{f[3]}, f[4:]...), " "))
	}
	sort.Strings(rrs)
	out := dns.RcodeToString[m.Rcode]
	if len(rrs) > 0 {
		out += " " + strings.Join(rrs, "; ")
	}
	if len(m.Ns) > 0 {
		out += " +soa"
	}
	return out
}

func TestAnswers(t *testing.T) {
	s := newTestServer(t)
	run(t, s)
	cases := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"web.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.96.0.10"},
		{"WEB.Default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.96.0.10"},
		{"web.default.svc.cluster.local.", dns.TypeAAAA, "NOERROR AAAA fd00::10"},
		{"web.default.svc.cluster.local.", dns.TypeMX, "NOERROR +soa"},
		{"nope.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"web.other.svc.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"db.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.1.5; A 10.244.2.7"},
		{"db-0.db.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.1.5"},
		{"10-244-2-7.db.default.svc.cluster.local.", dns.TypeA, "NOERROR A 10.244.2.7"},
		{"db-2.db.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"x.web.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, "NOERROR SRV 0 100 80 web.default.svc.cluster.local."},
		{"_dns._udp.web.default.svc.cluster.local.", dns.TypeSRV, "NOERROR SRV 0 100 53 web.default.svc.cluster.local."},
		{"_dns._tcp.web.default.svc.cluster.local.", dns.TypeSRV, "NXDOMAIN +soa"},
		{"_http._tcp.db.default.svc.cluster.local.", dns.TypeSRV, "NOERROR SRV 0 100 8080 10-244-2-7.db.default.svc.cluster.local.; SRV 0 100 8080 db-0.db.default.svc.cluster.local."},
		{"ext.shop.svc.cluster.local.", dns.TypeA, "NOERROR CNAME example.org."},
		{"10-244-3-4.default.pod.cluster.local.", dns.TypeA, "NOERROR A 10.244.3.4"},
		{"bad.default.pod.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"default.svc.cluster.local.", dns.TypeA, "NOERROR +soa"},
		{"cluster.local.", dns.TypeSOA, "NOERROR SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"},
		{"foo.cluster.local.", dns.TypeA, "NXDOMAIN +soa"},
		{"10.0.96.10.in-addr.arpa.", dns.TypePTR, "NOERROR PTR web.default.svc.cluster.local."},
		{"5.1.244.10.in-addr.arpa.", dns.TypePTR, "NOERROR PTR db-0.db.default.svc.cluster.local."},
		{"7.2.244.10.in-addr.arpa.", dns.TypePTR, "NOERROR PTR 10-244-2-7.db.default.svc.cluster.local."},
		{"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", dns.TypePTR, "NOERROR PTR web.default.svc.cluster.local."},
		{"1.1.1.10.in-addr.arpa.", dns.TypePTR, "SERVFAIL"}, // not ours: forwarded, upstream down
		{"example.org.", dns.TypeA, "SERVFAIL"},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			req := new(dns.Msg).SetQuestion(tc.name, tc.qtype)
			resp := s.reply(&net.UDPAddr{}, req)
			if got := summary(resp); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	s := newTestServer(t)
	run(t, s)
	two := new(dns.Msg).SetQuestion("a.cluster.local.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	notify := new(dns.Msg).SetNotify("cluster.local.")
	answer := new(dns.Msg).SetQuestion("a.cluster.local.", dns.TypeA)
	answer.Response = true
	for _, tc := range []struct {
		name string
		req  *dns.Msg
		want int // -1: no reply
	}{
		{"two questions", two, dns.RcodeFormatError},
		{"no questions", &dns.Msg{}, dns.RcodeFormatError},
		{"notify", notify, dns.RcodeNotImplemented},
		{"a response", answer, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.reply(&net.UDPAddr{}, tc.req)
			switch {
			case tc.want < 0 && resp != nil:
				t.Errorf("replied %v", resp)
			case tc.want >= 0 && (resp == nil || resp.Rcode != tc.want):
				t.Errorf("got %v, want rcode %s", resp, dns.RcodeToString[tc.want])
			}
		})
	}
}

// fakeUpstream answers every A query with 192.0.2.1 on loopback UDP and TCP.
func fakeUpstream(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
		w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func TestServeOverLoopback(t *testing.T) {
	up := fakeUpstream(t)
	s := newTestServer(t, "127.0.0.1:1", up) // the first upstream is down: the second answers
	run(t, s)
	udp, _ := s.Addrs()
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 3 * time.Second}
		for _, tc := range []struct{ name, want string }{
			{"web.default.svc.cluster.local.", "NOERROR A 10.96.0.10"},
			{"example.org.", "NOERROR A 192.0.2.1"},
			{"missing.default.svc.cluster.local.", "NXDOMAIN +soa"},
		} {
			resp, _, err := c.Exchange(new(dns.Msg).SetQuestion(tc.name, dns.TypeA), udp.String())
			if err != nil {
				t.Fatalf("%s %s: %v", network, tc.name, err)
			}
			if got := summary(resp); got != tc.want {
				t.Errorf("%s %s: got %q, want %q", network, tc.name, got, tc.want)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cs := fake.NewSimpleClientset()
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no addr", Config{Client: cs, Upstreams: []string{"127.0.0.1:53"}}, "Addr"},
		{"bad addr", Config{Client: cs, Addr: "nope", Upstreams: []string{"127.0.0.1:53"}}, "Addr"},
		{"no client", Config{Addr: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:53"}}, "Client"},
		{"bad upstream", Config{Client: cs, Addr: "127.0.0.1:0", Upstreams: []string{"127.0.0.1"}}, "Upstreams"},
		{"bad domain", Config{Client: cs, Addr: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:53"}, Domain: "a..b"}, "Domain"},
		{"missing resolv.conf", Config{Client: cs, Addr: "127.0.0.1:0", ResolvConf: "/nonexistent"}, "ResolvConf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want an error naming %s", err, tc.field)
			}
		})
	}
}
