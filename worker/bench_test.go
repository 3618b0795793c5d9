package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/worker"
	wcontainerd "github.com/skiffhq/skiff/worker/containerd"
	"github.com/skiffhq/skiff/worker/internal/worktest"
)

// benchPods is how many pods each side of BenchmarkCreateToServing starts.
const benchPods = 50

// BenchmarkCreateToServing measures, for one-container pods whose image is
// present, the time from creating the pod to its first HTTP answer: through
// the whole cluster (API, watch, worker, containerd, CNI) and, in the same
// run, through containerd and CNI alone (sandbox, create, start, answer),
// the floor no orchestrator beats. It reports p50 and p99 of each.
func BenchmarkCreateToServing(b *testing.B) {
	for range b.N {
		benchOnce(b)
	}
}

func benchOnce(b *testing.B) {
	tt := b
	worktest.RequireCNI(tt)
	e := newEnv(tt)
	ctx := context.Background()

	// Raw containerd + CNI, on a runtime of its own in another pod CIDR.
	rawDir := tt.TempDir()
	rt, err := wcontainerd.New(wcontainerd.Options{
		Client: e.ctrd, DataDir: rawDir, CNIBinDir: "/usr/lib/cni", CNIConfDir: filepath.Join(rawDir, "cni"),
		Snapshotter: e.d.Snapshotter, Bridge: worktest.Bridge(tt),
	})
	if err != nil {
		tt.Fatal(err)
	}
	defer rt.Close()
	if err := rt.SetPodCIDR("10.253.0.0/24"); err != nil {
		tt.Fatal(err)
	}
	var raw []time.Duration
	for i := range benchPods {
		start := time.Now()
		uid := fmt.Sprintf("raw-%d", i)
		sb, err := rt.RunSandbox(ctx, worker.SandboxConfig{PodUID: uid, PodName: uid, Namespace: "bench"})
		if err != nil {
			tt.Fatal(err)
		}
		id, err := rt.CreateContainer(ctx, sb, worker.ContainerConfig{Name: "app", Image: worktest.Image, Env: []string{"PORT=8080"}, LogPath: filepath.Join(sb.Dir, "app.log")})
		if err != nil {
			tt.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			tt.Fatal(err)
		}
		waitHTTP(tt, "http://"+sb.IP+":8080/")
		raw = append(raw, time.Since(start))
	}
	for i := range benchPods {
		uid := fmt.Sprintf("raw-%d", i)
		cs, _ := rt.ListContainers(ctx, uid)
		for _, c := range cs {
			rt.StopContainer(ctx, c.ID, 0)
			rt.RemoveContainer(ctx, c.ID)
		}
		rt.RemoveSandbox(ctx, uid)
	}

	var full []time.Duration
	for i := range benchPods {
		name := "bench-" + strconv.Itoa(i)
		start := time.Now()
		e.createPod(tt, name, nil, corev1.EnvVar{Name: "PORT", Value: "8080"})
		var ip string
		e.waitFor(tt, name+" has an IP", 30*time.Second, func() bool {
			p, err := e.admin.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				ip = p.Status.PodIP
			}
			return ip != ""
		})
		waitHTTP(tt, "http://"+ip+":8080/")
		full = append(full, time.Since(start))
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	fmt.Fprintf(os.Stderr, "create->serving over %d pods: skiff p50 %v p99 %v; raw containerd+CNI p50 %v p99 %v\n",
		benchPods, p(full, .5).Round(time.Millisecond), p(full, .99).Round(time.Millisecond),
		p(raw, .5).Round(time.Millisecond), p(raw, .99).Round(time.Millisecond))
	b.ReportMetric(float64(p(full, .5).Milliseconds()), "skiff-p50-ms")
	b.ReportMetric(float64(p(full, .99).Milliseconds()), "skiff-p99-ms")
	b.ReportMetric(float64(p(raw, .5).Milliseconds()), "raw-p50-ms")
	b.ReportMetric(float64(p(raw, .99).Milliseconds()), "raw-p99-ms")
}

// waitHTTP polls url until it answers 200, for at most 30s.
func waitHTTP(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if code, _, err := get(url); err == nil && code == 200 {
			return
		}
		select {
		case <-deadline:
			tb.Fatalf("%s did not answer within 30s", url)
		case <-tick.C:
		}
	}
}
