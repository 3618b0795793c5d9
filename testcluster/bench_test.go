package testcluster_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/testcluster"
)

// BenchmarkPropose measures committed writes per second and latency on a
// three-server cluster, with the same load as the etcd anchor
// (../shared/bench/kvload): 256-byte values under /registry/pods/default/.
// Run it with a fixed count, e.g. -benchtime=20000x. "via=all" spreads
// writes over all servers in turn (followers forward to the leader), as an
// etcd client spreads requests over its endpoints; "via=leader" sends every write to
// the leader; "via=follower" (one writer) always goes through a follower,
// the path whose forwarding cost "via=all" mixes with the leader's.
func BenchmarkPropose(b *testing.B) {
	for _, clients := range []int{1, 64, 256} {
		vias := []string{"all", "leader"}
		if clients == 1 {
			vias = append(vias, "follower")
		}
		for _, via := range vias {
			b.Run(fmt.Sprintf("clients=%d/via=%s", clients, via), func(b *testing.B) {
				benchPropose(b, clients, via)
			})
		}
	}
}

func benchPropose(b *testing.B, clients int, via string) {
	c := testcluster.Start(b, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	termBefore := c.Server(leader).Replica().Raft().Stats()["term"]
	val := []byte(strings.Repeat("v", 256))
	lat := make([]time.Duration, b.N)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	nodes := make([]*raftstore.Replica, c.N())
	for i := range nodes {
		nodes[i] = c.Server(i).Replica()
	}
	for w := 0; w < clients; w++ {
		// pick returns the server of write i: the leader, a follower, or
		// each server in turn, as etcd's client picks an endpoint per
		// request (gRPC round robin).
		pick := func(int64) *raftstore.Replica { return nodes[leader] }
		switch via {
		case "all":
			pick = func(i int64) *raftstore.Replica { return nodes[i%int64(len(nodes))] }
		case "follower":
			f := nodes[(leader+1+w)%len(nodes)]
			pick = func(int64) *raftstore.Replica { return f }
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				res, err := pick(i).Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: fmt.Sprintf("/registry/pods/default/p%07d", i), Value: val})
				lat[i] = time.Since(t)
				if err != nil || res.Err() != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	reportLatency(b, lat, el, clients, int(errs.Load()))
	// A term change under load is a spurious election: the timeouts are
	// too tight for this machine.
	if termAfter := c.Server(leader).Replica().Raft().Stats()["term"]; termAfter != termBefore {
		b.Logf("ELECTION UNDER LOAD: term %s -> %s", termBefore, termAfter)
	}
}

// reportLatency prints the kvload line and reports the figures as metrics.
func reportLatency(b *testing.B, lat []time.Duration, el time.Duration, clients, errs int) {
	sorted := slices.Clone(lat)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p := func(q float64) float64 { return float64(sorted[int(q*float64(len(sorted)-1))].Microseconds()) / 1000 }
	tput := float64(len(lat)) / el.Seconds()
	b.ReportMetric(tput, "writes/s")
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(float64(errs), "errors")
	b.Logf("writes=%d clients=%d size=256 errors=%d elapsed=%.2fs throughput=%.0f/s p50=%.2fms p99=%.2fms",
		len(lat), clients, errs, el.Seconds(), tput, p(0.5), p(0.99))
}

// BenchmarkFailover kills the leader (as kill -9 would) ten times while a
// serial writer, attached to a server that survives, writes with a 500ms
// timeout per attempt, like ../shared/bench/kvgap. It reports the median
// and maximum write unavailability: the longest time between two
// successful writes around each kill. Run with -benchtime=1x.
func BenchmarkFailover(b *testing.B) {
	const kills = 10
	c := testcluster.Start(b, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var gaps []time.Duration
	for k := 0; k < kills*b.N; k++ {
		leader, err := c.Leader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		writer := c.Server((leader + 1) % c.N()).Replica()
		stop := make(chan struct{})
		var gap time.Duration
		var ok atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			last := time.Now()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				wctx, wcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				res, err := writer.Propose(wctx, &fsm.Command{Op: fsm.OpPut, Key: fmt.Sprintf("/gap/%d", i), Value: []byte("x")})
				wcancel()
				if err != nil || res.Err() != nil {
					continue
				}
				ok.Add(1)
				gap = max(gap, time.Since(last))
				last = time.Now()
			}
		}()
		// Let the writer run steadily, then kill the leader.
		if err := testcluster.WaitFor(ctx, func() bool { return ok.Load() >= 200 }); err != nil {
			b.Fatal(err)
		}
		killed := time.Now()
		c.KillServer(leader)
		// Keep writing until the new leader has served writes for a while.
		base := ok.Load()
		if err := testcluster.WaitFor(ctx, func() bool { return ok.Load() >= base+200 && time.Since(killed) > time.Second }); err != nil {
			b.Fatal(err)
		}
		close(stop)
		<-done
		gaps = append(gaps, gap)
		if err := c.RestartServer(leader); err != nil {
			b.Fatal(err)
		}
		if err := c.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(gaps)
	med, mx := gaps[len(gaps)/2], gaps[len(gaps)-1]
	b.ReportMetric(float64(med.Milliseconds()), "median-gap-ms")
	b.ReportMetric(float64(mx.Milliseconds()), "max-gap-ms")
	b.Logf("leader kills=%d median_gap=%dms max_gap=%dms gaps=%v", len(gaps), med.Milliseconds(), mx.Milliseconds(), gaps)
}
