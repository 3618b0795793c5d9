package netproxy_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// load runs n requests from conc clients (a new connection each, so
// every request goes through DNAT and a new conntrack entry) and returns
// requests/s and the sorted latencies.
func load(b *testing.B, c *http.Client, url string, n, conc int) (float64, []time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += conc {
				t0 := time.Now()
				if _, err := get(c, url); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rps := float64(len(lat)) / time.Since(start).Seconds()
	slices.Sort(lat)
	return rps, lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// BenchmarkClusterIPvsDirect compares HTTP requests through a ClusterIP
// with requests straight to the pod IPs, in the same run, from a client
// in a pod namespace (so both go through the node's forwarding path).
func BenchmarkClusterIPvsDirect(b *testing.B) {
	requireNetns(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := newTestNet(b, 3)
	n.serve(b)
	c := testcluster.Start(b, testcluster.Options{Servers: 1})
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := cs.CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// Backends are pods 1 and 2; pod 0 is the client.
	if _, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, endpointSlice(n, 1, 2), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	p, stop := startProxier(b, ctx, cs, n, false)
	defer stop()
	waitSynced(b, ctx, p, 0)
	cl := client(n.pods[0], false)
	clusterURL := fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP)
	if err := testcluster.WaitFor(ctx, func() bool { _, err := get(cl, clusterURL); return err == nil }); err != nil {
		b.Fatal(err)
	}
	const perRound, conc, rounds = 1000, 4, 3
	var viaRPS, dirRPS float64
	var viaLat, dirLat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for r := range rounds {
			rps, lat := load(b, cl, clusterURL, perRound, conc)
			viaRPS += rps / rounds
			viaLat = append(viaLat, lat...)
			rps, lat = load(b, cl, fmt.Sprintf("http://%s:8080/", n.podIPs[1+r%2]), perRound, conc)
			dirRPS += rps / rounds
			dirLat = append(dirLat, lat...)
		}
	}
	slices.Sort(viaLat)
	slices.Sort(dirLat)
	iters := float64(b.N)
	b.ReportMetric(viaRPS/iters, "clusterip-req/s")
	b.ReportMetric(dirRPS/iters, "direct-req/s")
	b.ReportMetric(viaRPS/dirRPS, "ratio")
	b.Logf("ClusterIP: %.0f req/s p50 %v p99 %v; direct: %.0f req/s p50 %v p99 %v; ratio %.2f",
		viaRPS/iters, pct(viaLat, 0.5), pct(viaLat, 0.99), dirRPS/iters, pct(dirLat, 0.5), pct(dirLat, 0.99), viaRPS/dirRPS)
}
