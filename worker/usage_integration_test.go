package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiffhq/skiff/internal/testimages"
	"github.com/skiffhq/skiff/worker"
)

// summaryOf fetches node w1's Summary through the API's node proxy.
func summaryOf(ctx context.Context, e *env) (statsv1.Summary, error) {
	var s statsv1.Summary
	raw, err := e.admin.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/w1/proxy/stats/summary").DoRaw(ctx)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(raw, &s)
	return s, err
}

// TestStatsSummaryThroughNodeProxy runs a pod that keeps one CPU busy and
// holds 64 MiB, and reads the node's Summary through the API: the node's
// usage, and the pod's and its container's, with a CPU rate and a working
// set that include what the pod is known to use.
func TestStatsSummaryThroughNodeProxy(t *testing.T) {
	e := newEnv(t)
	e.createPod(t, "busy", nil, corev1.EnvVar{Name: "SPIN", Value: "1"}, corev1.EnvVar{Name: "HOLD_MIB", Value: "64"})
	e.waitFor(t, "pod busy running", 60*time.Second, func() bool { return running(e.pod("busy")) })

	var pod *statsv1.PodStats
	var sum statsv1.Summary
	e.waitFor(t, "pod busy in the summary with a CPU rate", 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := summaryOf(ctx, e)
		if err != nil {
			t.Logf("summary: %v", err)
			return false
		}
		for i := range s.Pods {
			p := &s.Pods[i]
			if p.PodRef.Name == "busy" && p.CPU != nil && p.CPU.UsageNanoCores != nil && len(p.Containers) == 1 {
				pod, sum = p, s
				return true
			}
		}
		return false
	})
	n := sum.Node
	if n.NodeName != "w1" || n.CPU == nil || n.CPU.UsageNanoCores == nil || n.Memory == nil || n.Memory.WorkingSetBytes == nil {
		t.Fatalf("node stats %+v: want w1 with CPU rate and working set", n)
	}
	cores := float64(*pod.CPU.UsageNanoCores) / 1e9
	ws := *pod.Memory.WorkingSetBytes
	t.Logf("measured: pod busy %.2f cores, %d MiB working set; node %.2f cores, %d MiB working set",
		cores, ws>>20, float64(*n.CPU.UsageNanoCores)/1e9, *n.Memory.WorkingSetBytes>>20)
	// The machine is shared (the node measured 2 of 2 cores busy while
	// this ran), so a spinning thread may get a fraction of a core; 0.05
	// still tells it from an idle pod, which uses about 0.001.
	if cores < 0.05 {
		t.Errorf("pod busy uses %.2f cores, want at least 0.05 (it spins one thread)", cores)
	}
	if ws < 64<<20 {
		t.Errorf("pod busy working set %d bytes, want at least the 64 MiB it holds", ws)
	}
	c := pod.Containers[0]
	if c.Name != "app" || c.Memory == nil || *c.Memory.WorkingSetBytes != ws || c.CPU.UsageCoreNanoSeconds == nil {
		t.Errorf("container stats %+v, want app with the pod's working set", c)
	}
	if *n.CPU.UsageNanoCores < *pod.CPU.UsageNanoCores/2 {
		t.Errorf("node CPU %d nanocores is far below its pod's %d", *n.CPU.UsageNanoCores, *pod.CPU.UsageNanoCores)
	}
}

// TestImageImportThroughNodeProxy posts an image archive to the node
// through the API and finds the image stored and unpacked in the
// worker's containerd; a bad archive and an unknown node get errors that
// say so.
func TestImageImportThroughNodeProxy(t *testing.T) {
	e := newEnv(t)
	img := testimages.Image(t, testimages.Exit)
	e.waitFor(t, "node w1 advertising its endpoint", 30*time.Second, func() bool {
		n, err := e.admin.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{})
		return err == nil && n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := os.Open(img.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc := e.admin.CoreV1().RESTClient()
	raw, err := rc.Post().AbsPath("/api/v1/nodes/w1/proxy/images/import").SetHeader("Content-Type", "application/x-tar").Body(f).DoRaw(ctx)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var res worker.ImportResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	if res.Node != "w1" || len(res.Images) != 1 || res.Images[0].Name != img.Ref || res.Images[0].Digest != img.Manifest.Digest.String() {
		t.Fatalf("import answered %+v, want %s@%s on w1", res, img.Ref, img.Manifest.Digest)
	}
	got, err := e.ctrd.GetImage(ctx, img.Ref)
	if err != nil {
		t.Fatalf("image not in the worker's containerd: %v", err)
	}
	if ok, err := got.IsUnpacked(ctx, e.d.Snapshotter); err != nil || !ok {
		t.Errorf("IsUnpacked(%s) = %v, %v", e.d.Snapshotter, ok, err)
	}

	// Result.Error, unlike DoRaw, decodes the Status the API answers.
	err = rc.Post().AbsPath("/api/v1/nodes/w1/proxy/images/import").Body([]byte("not an archive")).Do(ctx).Error()
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "node w1") {
		t.Errorf("bad archive: %v, want 400 naming node w1", err)
	}
	err = rc.Post().AbsPath("/api/v1/nodes/nope/proxy/images/import").Body([]byte("x")).Do(ctx).Error()
	if !apierrors.IsNotFound(err) {
		t.Errorf("unknown node: %v, want 404", err)
	}
}
