package netproxy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// bigCluster returns n service-ports with eps endpoints each.
func bigCluster(n, eps int) []ServicePort {
	out := make([]ServicePort, n)
	for i := range out {
		sp := ServicePort{Namespace: "bench", Name: fmt.Sprintf("svc-%04d", i), PortName: "http", Proto: TCP,
			ClusterIP: netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}), Port: 80, NodePort: uint16(30000 + i)}
		for j := range eps {
			sp.Endpoints = append(sp.Endpoints, Endpoint{Addr: netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)}).Next().Next(), Port: uint16(8000 + j), Local: j%2 == 0})
		}
		out[i] = sp
	}
	return out
}

// replaceEndpoint returns ports with one endpoint of service i moved.
func replaceEndpoint(ports []ServicePort, i int, port uint16) []ServicePort {
	out := append([]ServicePort(nil), ports...)
	sp := out[i]
	sp.Endpoints = append([]Endpoint(nil), sp.Endpoints...)
	sp.Endpoints[0].Port = port
	out[i] = sp
	return out
}

func TestEndpointChangeTouchesOneService(t *testing.T) {
	node := NodeInfo{PodCIDR: netip.MustParsePrefix("10.244.0.0/16")}
	ports := bigCluster(200, 10)
	before := Generate(ports, node)
	after := Generate(replaceEndpoint(ports, 7, 9999), node)
	p := Diff(before, after)
	touched := map[string]bool{}
	for _, c := range p.NewChains {
		touched[c.Name] = true
	}
	for _, c := range p.Rewrite {
		touched[c.Name] = true
	}
	for _, c := range p.DelChains {
		touched[c] = true
	}
	for s := range p.AddElems {
		touched[s] = true
	}
	for s := range p.DelElems {
		touched[s] = true
	}
	for name := range touched {
		if !contains(name, "bench/svc-0007/") {
			t.Errorf("an endpoint change of svc-0007 touched %s", name)
		}
	}
	if len(p.NewChains) != 1 || len(p.DelChains) != 1 || len(p.Rewrite) != 0 || len(p.NewSets)+len(p.DelSets) != 0 {
		t.Errorf("plan: %d new, %d deleted, %d rewritten chains, %d/%d sets; want 1, 1, 0, 0",
			len(p.NewChains), len(p.DelChains), len(p.Rewrite), len(p.NewSets), len(p.DelSets))
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// BenchmarkProgram measures programming 1,000 Services x 10 endpoints
// into a real kernel table (in a namespace of its own): the first sync
// from scratch, then one endpoint change per iteration, reporting what
// each change sent.
func BenchmarkProgram(b *testing.B) {
	ns := needNetns(b)
	tb, err := openTable(ns.Fd())
	if err != nil {
		b.Fatal(err)
	}
	defer tb.close()
	node := NodeInfo{PodCIDR: netip.MustParsePrefix("10.244.0.0/16")}
	ports := bigCluster(1000, 10)
	genStart := time.Now()
	g := NewGenerator(node)
	have := g.Generate(ports)
	gen := time.Since(genStart)
	start := time.Now()
	st, err := tb.apply(Diff(NewModel(), have), have, true)
	if err != nil {
		b.Fatal(err)
	}
	scratch := time.Since(start)
	readStart := time.Now()
	got, _, err := tb.read()
	if err != nil {
		b.Fatal(err)
	}
	if p := Diff(got, have); !p.Empty() {
		b.Fatal("table read back differs from the model")
	}
	readBack := time.Since(readStart)
	b.Logf("from scratch: generate %v, program %v (%d rules, %d elements, %d messages in %d transactions); restart read-back %v",
		gen, scratch, st.Rules, st.Elements, st.Messages, st.Transactions, readBack)

	var msgs, elems, rules int
	var user, kernel time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		want := g.Generate(replaceEndpoint(ports, i%1000, uint16(10000+i%2)))
		plan := Diff(have, want)
		t1 := time.Now()
		st, err := tb.apply(plan, want, false)
		if err != nil {
			b.Fatal(err)
		}
		user, kernel = user+t1.Sub(t0), kernel+time.Since(t1)
		msgs, elems, rules = msgs+st.Messages, elems+st.Elements, rules+st.Rules
		have = want
	}
	b.ReportMetric(user.Seconds()*1000/float64(b.N), "ms-generate+diff/change")
	b.ReportMetric(kernel.Seconds()*1000/float64(b.N), "ms-netlink/change")
	b.ReportMetric(scratch.Seconds()*1000, "ms-from-scratch")
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/change")
	b.ReportMetric(float64(elems)/float64(b.N), "elems/change")
	b.ReportMetric(float64(rules)/float64(b.N), "rules/change")
	b.ReportMetric(float64(st.Messages), "msgs-from-scratch")
}
