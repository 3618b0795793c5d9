package clusterdns

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// FuzzDNS feeds arbitrary bytes to the request path: whatever unpacks
// must be answered (or dropped) without a panic, and an answer must pack.
func FuzzDNS(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{
		{"web.default.svc.cluster.local.", dns.TypeA},
		{"_http._tcp.db.default.svc.cluster.local.", dns.TypeSRV},
		{"5.1.244.10.in-addr.arpa.", dns.TypePTR},
		{"10-244-3-4.default.pod.cluster.local.", dns.TypeA},
		{"cluster.local.", dns.TypeSOA},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.t)
		m.SetEdns0(1232, false)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s := newTestServer(f)
	run(f, s)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return
		}
		if len(req.Question) == 1 && req.Opcode == dns.OpcodeQuery && !req.Response && s.res.answer(req.Question[0]).forward {
			return // not the cluster's: forwarding is the upstream's business
		}
		resp := s.reply(&net.UDPAddr{}, req)
		if resp == nil {
			return
		}
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("answer to %v does not pack: %v", req.Question, err)
		}
	})
}
