package clusterdns

import (
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkQueryLoopback measures cluster-name queries per second over
// loopback UDP, each client goroutine on its own socket.
func BenchmarkQueryLoopback(b *testing.B) {
	s := newTestServer(b)
	run(b, s)
	udp, _ := s.Addrs()
	q := new(dns.Msg).SetQuestion("web.default.svc.cluster.local.", dns.TypeA)
	b.SetParallelism(4)
	cpu0 := cpuTime()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		conn, err := c.Dial(udp.String())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			resp, _, err := c.ExchangeWithConn(q, conn)
			if err != nil || len(resp.Answer) != 1 {
				b.Errorf("query: %v %v", err, resp)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
	// CPU time per query (server and client together) says what a quiet
	// core could do when the shared machine starves the benchmark.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/query")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
