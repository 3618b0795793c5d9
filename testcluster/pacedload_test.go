package testcluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// diskValue is the 256-byte value of the disk benchmarks, as in
// BenchmarkPropose.
var diskValue = []byte(strings.Repeat("v", 256))

// diskKeys is the number of distinct keys the disk benchmarks overwrite in
// turn: a store of 10,000 objects whose updates churn the log, so that the
// state (and a snapshot) stays the same size while the log grows.
const diskKeys = 10000

// diskWrite puts the seq'th value of the disk benchmarks through n.
func diskWrite(ctx context.Context, n *raftstore.Replica, seq int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := n.Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: fmt.Sprintf("/registry/pods/default/p%05d", seq%diskKeys), Value: diskValue})
	if err == nil {
		err = res.Err()
	}
	return err
}

// pacedLoad is the outcome of one run of writes at a fixed rate.
type pacedLoad struct {
	lat     []time.Duration // of the writes that succeeded
	errs    int             // writes that failed
	dropped int             // writes due while all writers were busy
	elapsed time.Duration
}

// rate returns the writes per second that succeeded.
func (p pacedLoad) rate() float64 { return float64(len(p.lat)) / p.elapsed.Seconds() }

// quantile returns the q-quantile of the latencies in milliseconds.
func (p pacedLoad) quantile(q float64) float64 {
	if len(p.lat) == 0 {
		return 0
	}
	s := slices.Clone(p.lat)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1))].Microseconds()) / 1000
}

func (p pacedLoad) String() string {
	return fmt.Sprintf("writes=%d rate=%.0f/s p50=%.2fms p99=%.2fms max=%.2fms errors=%d dropped=%d elapsed=%.1fs",
		len(p.lat), p.rate(), p.quantile(0.5), p.quantile(0.99), p.quantile(1), p.errs, p.dropped, p.elapsed.Seconds())
}

// pacer issues writes at a fixed rate (an open loop, as clients that do
// not wait for each other) spread over nodes, with at most inFlight
// outstanding. A write that falls due while all writers are busy is
// dropped and counted, so that a slow store shows up as a lower rate
// reached rather than as a queue hidden from the latencies.
type pacer struct {
	nodes    []*raftstore.Replica
	inFlight int
	seq      atomic.Int64 // the next write's sequence number, shared by runs
}

// run writes at rate per second until stop reports true (asked every
// 10ms with the time elapsed), limit writes have fallen due, or ctx ends.
func (p *pacer) run(ctx context.Context, rate float64, limit int, stop func(time.Duration) bool) pacedLoad {
	jobs := make(chan int64)
	lats := make([][]time.Duration, p.inFlight)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range p.inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				t := time.Now()
				if err := diskWrite(ctx, p.nodes[seq%int64(len(p.nodes))], seq); err != nil {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	var out pacedLoad
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	due, lastCheck := 0, time.Duration(0)
loop:
	for due < limit && ctx.Err() == nil {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		el := time.Since(start)
		if el-lastCheck >= 10*time.Millisecond {
			lastCheck = el
			if stop(el) {
				break loop
			}
		}
		for target := min(int(el.Seconds()*rate), limit); due < target; due++ {
			select {
			case jobs <- p.seq.Add(1) - 1:
			default:
				out.dropped++
			}
		}
	}
	close(jobs)
	wg.Wait()
	out.elapsed = time.Since(start)
	out.lat = slices.Concat(lats...)
	out.errs = int(errs.Load())
	return out
}

// forDuration returns a stop condition that holds after d.
func forDuration(d time.Duration) func(time.Duration) bool {
	return func(el time.Duration) bool { return el >= d }
}
