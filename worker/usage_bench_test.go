package worker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/ociimage"
)

// benchArchiveMiB is the size of the layer BenchmarkImageImportThroughNodeProxy
// uploads: random, so gzip cannot shrink it.
const benchArchiveMiB = 64

// BenchmarkImageImportThroughNodeProxy uploads a fresh 64 MiB image
// archive per iteration to the worker through the API's node proxy (TLS
// client → API server → TLS → worker → containerd import and unpack) and
// reports the throughput (MB/s, from SetBytes).
func BenchmarkImageImportThroughNodeProxy(b *testing.B) {
	e := newEnv(b)
	e.waitFor(b, "node w1 advertising its endpoint", 30*time.Second, func() bool {
		n, err := e.admin.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{})
		return err == nil && n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0
	})
	rc := e.admin.CoreV1().RESTClient()
	for i := range b.N {
		b.StopTimer()
		payload := make([]byte, benchArchiveMiB<<20)
		rand.Read(payload)
		var archive bytes.Buffer
		if _, err := ociimage.Pack(&archive, payload, ociimage.Options{Ref: fmt.Sprintf("skiff.test/bench:v%d", i)}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(archive.Len()))
		b.StartTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := rc.Post().AbsPath("/api/v1/nodes/w1/proxy/images/import").Body(archive.Bytes()).Do(ctx).Error()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatsSummaryThroughNodeProxy reads node w1's Summary through
// the API back to back, as repeated `kubectl top` calls do: after the
// first (which samples twice, a second apart) each reuses a kept sample.
// It reports the first call's latency and ns/op of the others.
func BenchmarkStatsSummaryThroughNodeProxy(b *testing.B) {
	e := newEnv(b)
	e.createPod(b, "idle", nil)
	e.waitFor(b, "pod idle running", 60*time.Second, func() bool { return running(e.pod("idle")) })
	ctx := context.Background()
	start := time.Now()
	if _, err := summaryOf(ctx, e); err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	b.ResetTimer()
	for range b.N {
		if _, err := summaryOf(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-ms")
}
