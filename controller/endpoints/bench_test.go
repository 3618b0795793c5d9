package endpoints_test

import (
	"context"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/controller/endpoints"
	"github.com/skiffhq/skiff/internal/controllertest"
)

// BenchmarkReadinessToSlice measures, on a 3-server cluster, the time from
// a pod status write that flips its Ready condition (sent to server 1, as
// a worker would) to the watch event (from server 2) of the EndpointSlice
// that shows the new condition; the controller runs over server 0. Each
// iteration is 100 trials, alternating not ready and ready; it reports
// the median, p99 and max over all trials.
func BenchmarkReadinessToSlice(b *testing.B) {
	const trials = 100
	c, kc, ctx := startEndpoints(b)
	ns := controllertest.Namespace(b, ctx, kc)
	createService(b, ctx, kc, newService(ns, "bench", false))
	createPod(b, ctx, kc, ns, "bench", "bench-0", "10.244.9.1", 8080, true)
	waitState(b, ctx, kc, ns, "bench", "10.244.9.1:true:8080")
	w := &sliceWatch{kc: controllertest.Client(b, c, 2), ns: ns, svc: "bench"}
	if err := w.start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { w.w.Stop() }()

	var lat []time.Duration
	ready := true
	b.ResetTimer()
	for range b.N {
		for range trials {
			ready = !ready
			t0 := time.Now()
			if err := flipReady(ctx, kc, ns, "bench-0", ready); err != nil {
				b.Fatal(err)
			}
			if err := w.until(ctx, ready); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p99, worst := percentile(lat, 0.5), percentile(lat, 0.99), slices.Max(lat)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(worst), "max-ms")
	b.Logf("endpoints: trials=%d readiness→slice p50=%.1fms p99=%.1fms max=%.1fms", len(lat), ms(p50), ms(p99), ms(worst))
}

// sliceWatch follows the managed slices of one Service.
type sliceWatch struct {
	kc      kubernetes.Interface
	ns, svc string
	w       watch.Interface
}

func (s *sliceWatch) opts() metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + s.svc + "," + discoveryv1.LabelManagedBy + "=" + endpoints.ManagedBy}
}

// start lists and watches from the list's revision.
func (s *sliceWatch) start(ctx context.Context) error {
	list, err := s.kc.DiscoveryV1().EndpointSlices(s.ns).List(ctx, s.opts())
	if err != nil {
		return err
	}
	o := s.opts()
	o.ResourceVersion = list.ResourceVersion
	s.w, err = s.kc.DiscoveryV1().EndpointSlices(s.ns).Watch(ctx, o)
	return err
}

// until reads events until one shows the endpoint's ready condition equal
// to ready; a closed watch is restarted from a fresh list, whose state
// counts too.
func (s *sliceWatch) until(ctx context.Context, ready bool) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-s.w.ResultChan():
			if !ok {
				if err := s.start(ctx); err != nil {
					return err
				}
				continue
			}
			sl, isSlice := ev.Object.(*discoveryv1.EndpointSlice)
			if !isSlice || ev.Type == watch.Deleted {
				continue
			}
			for _, e := range sl.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready == ready {
					return nil
				}
			}
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
