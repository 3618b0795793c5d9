package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// The scale: pages must be usable at this many pods and nodes.
const (
	benchPods  = 1000
	benchNodes = 100
)

// readyProbe runs in every page before the page's own scripts and
// records, in window.__ready, the time (performance.now(), from the
// navigation's start) of the first animation frame in which the page
// shows the whole list: on the workloads page the pods table with every
// pod, on the cluster page the workers table with every node and the
// pod count. A frame callback runs just before that frame paints.
const readyProbe = `(() => {
  const pods = %d, nodes = %d;
  const rows = (id) => document.querySelectorAll("#" + id + " tbody tr, #" + id + " .rows > [role=row]").length;
  const podCount = () => [...document.querySelectorAll("#counts tbody tr")].some((r) => r.children[0].textContent === "Pods" && r.children[1].textContent === String(pods));
  const done = () => location.hash.startsWith("#/workloads") ? rows("pods") >= pods : rows("workers") >= nodes && podCount();
  window.__ready = null;
  const tick = () => { if (done()) window.__ready = performance.now(); else requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})();`

// pageTimes reads the navigation's figures from the performance API.
const pageTimes = `JSON.stringify((() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = {};
  for (const e of performance.getEntriesByType("paint")) paint[e.name] = e.startTime;
  const mark = (name) => (performance.getEntriesByName(name, "mark").pop() || {}).startTime || 0;
  const list = performance.getEntriesByType("resource").find((e) => /\/api\/v1\/pods(\?(?!.*watch=)|$)/.test(e.name)) || {};
  return { fp: paint["first-paint"] || 0, fcp: paint["first-contentful-paint"] || 0, dcl: nav.domContentLoadedEventEnd, ready: window.__ready,
    parsed: mark("list-parsed /api/v1/pods"), rendered: mark("render-end /api/v1/pods"), listStart: list.startTime || 0, listEnd: list.responseEnd || 0, podBytes: list.encodedBodySize || 0 };
})())`

// loadTimes are one page load's figures in milliseconds from the start of
// the navigation.
type loadTimes struct {
	FP, FCP, DCL, Ready float64
	// ListStart and ListEnd are when the page's pod list request began
	// and its answer was in; PodBytes is its size.
	ListStart, ListEnd, PodBytes float64
	// Parsed and Rendered are when the page had decoded the pod list and
	// when it had built the rows for it (the app's performance marks).
	Parsed, Rendered float64
}

// BenchmarkDashboardFirstPaint loads the workloads page (the pods list)
// and the cluster page of a three-server testcluster holding 1,000 pods
// on 100 nodes, in headless Chromium, and reports the browser's own
// figures: first paint, first contentful paint, DOM ready, and the time
// until the list shows every pod (workers and pod count on the cluster
// page). The server is warmed by two loads of each page first. The issue's
// target is a first paint within 300 ms.
//
//	go test -run '^$' -bench DashboardFirstPaint -benchtime 10x ./ui/
func BenchmarkDashboardFirstPaint(b *testing.B) {
	br := newBrowser(b)
	c := testcluster.Start(b, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seedScale(b, ctx, kc, benchNodes, benchPods)
	b.Logf("seeded %d nodes and %d running pods in %v", benchNodes, benchPods, time.Since(start).Round(time.Millisecond))

	base := c.URL(0)
	br.signIn(base, c.AdminToken())
	if _, err := chromedp.Call(br.ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(readyProbe, benchPods, benchNodes)}); err != nil {
		b.Fatal(err)
	}
	for _, pg := range []struct{ name, hash string }{{"pods", "#/workloads"}, {"cluster", "#/cluster"}} {
		b.Run(pg.name, func(b *testing.B) {
			for range 2 {
				br.load(b, base+"/ui/"+pg.hash)
			}
			var all []loadTimes
			b.ResetTimer()
			for range b.N {
				all = append(all, br.load(b, base+"/ui/"+pg.hash))
			}
			b.StopTimer()
			med := func(f func(loadTimes) float64) float64 {
				v := make([]float64, len(all))
				for i, t := range all {
					v[i] = f(t)
				}
				slices.Sort(v)
				return v[len(v)/2]
			}
			fp, fcp, dcl, ready := med(func(t loadTimes) float64 { return t.FP }), med(func(t loadTimes) float64 { return t.FCP }),
				med(func(t loadTimes) float64 { return t.DCL }), med(func(t loadTimes) float64 { return t.Ready })
			b.ReportMetric(fp, "fp-ms")
			b.ReportMetric(fcp, "fcp-ms")
			b.ReportMetric(dcl, "domready-ms")
			b.ReportMetric(ready, "listed-ms")
			kib := med(func(t loadTimes) float64 { return t.PodBytes }) / 1024
			b.ReportMetric(kib, "podlist-KiB")
			b.Logf("%s page, %d pods on %d nodes, median of %d warm loads: first paint %.0f ms, first contentful paint %.0f ms, DOM ready %.0f ms, "+
				"pod list asked at %.0f ms, answered at %.0f ms (%.0f KiB), parsed at %.0f ms, rows built at %.0f ms, everything listed (painted) %.0f ms",
				pg.name, benchPods, benchNodes, len(all), fp, fcp, dcl, med(func(t loadTimes) float64 { return t.ListStart }),
				med(func(t loadTimes) float64 { return t.ListEnd }), kib, med(func(t loadTimes) float64 { return t.Parsed }),
				med(func(t loadTimes) float64 { return t.Rendered }), ready)
		})
	}
	b.Run("live", func(b *testing.B) { benchLiveUpdate(b, ctx, br, kc, base) })
	br.checkNoErrors()
}

// benchLiveUpdate measures, on the workloads page showing 1,000 pods, the
// time from a pod's status update through the API (its restart count) to
// the frame in which its row shows the new count: the watch, the page's
// update of the list, and the paint. The issue asks for lists that update
// within 1 s.
func benchLiveUpdate(b *testing.B, ctx context.Context, br *browser, kc kubernetes.Interface, base string) {
	br.load(b, base+"/ui/#/workloads")
	var lat []float64
	b.ResetTimer()
	for i := range b.N {
		bp := benchPod(i * 37 % benchPods)
		ns := fmt.Sprintf("team-%d", i*37%benchPods%4)
		p, err := kc.CoreV1().Pods(ns).Get(ctx, bp.Name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		restarts := p.Status.ContainerStatuses[0].RestartCount + 1
		p.Status.ContainerStatuses[0].RestartCount = restarts
		start := time.Now()
		if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		// Date.now() in the frame that first shows the count: the page's
		// clock is this process's.
		expr := fmt.Sprintf(`new Promise((res) => { const tick = () => { const r = [...document.querySelectorAll("#pods tbody tr, #pods .rows > [role=row]")].find((r) => r.children[0].textContent === %q);
  if (r && r.children[4].textContent === %q) res(Date.now()); else requestAnimationFrame(tick); }; tick(); })`, bp.Name, fmt.Sprint(restarts))
		wctx, cancel := context.WithTimeout(br.ctx, 30*time.Second)
		shown, err := chromedp.Run(wctx, chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			b.Fatalf("pod %s never showed restart count %d: %v\n%s", bp.Name, restarts, err, br.where())
		}
		lat = append(lat, shown-float64(start.UnixMicro())/1000)
	}
	b.StopTimer()
	slices.Sort(lat)
	med, worst := lat[len(lat)/2], lat[len(lat)-1]
	b.ReportMetric(med, "update-ms")
	b.ReportMetric(worst, "worst-update-ms")
	b.Logf("a status update showed in the list of %d pods after %.0f ms (median of %d), %.0f ms at worst", benchPods, med, len(lat), worst)
}

// load navigates to url from a blank page (a full load, not a hash change
// within the page), waits until the page shows the whole list, and returns
// the load's figures.
func (b *browser) load(tb testing.TB, url string) loadTimes {
	tb.Helper()
	b.navigate("blank", "about:blank")
	b.do("load "+url, chromedp.Navigate(url))
	// Not chromedp.Poll: right after a navigation it may look for the
	// previous document's execution context.
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	var t loadTimes
	err := testcluster.WaitFor(ctx, func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageTimes))
		return err == nil && json.Unmarshal([]byte(v), &t) == nil && t.Ready > 0
	})
	if err != nil {
		tb.Fatalf("load %s: the whole list never showed: %v\n%s", url, err, b.where())
	}
	return t
}

// seedScale creates nodes Ready nodes (not real workers: objects only) and
// pods Running pods spread over them, through the API, a few writes at a
// time.
func seedScale(tb testing.TB, ctx context.Context, kc kubernetes.Interface, nodes, pods int) {
	tb.Helper()
	run := func(n int, one func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		next := make(chan int)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := retryBusy(ctx, func() error { return one(i) }); err != nil {
						errs <- err
					}
				}
			}()
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			tb.Fatal(err)
		}
	}
	now := metav1.Now()
	run(nodes, func(i int) error {
		name := fmt.Sprintf("node-%03d", i)
		n, err := kc.CoreV1().Nodes().Create(ctx, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Spec:       corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.244.%d.0/24", i), PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", i)}},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // a retry after a create whose answer was lost
			n, err = kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("create node %d: %w", i, err)
		}
		n.Status = corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "WorkerReady", LastHeartbeatTime: now, LastTransitionTime: now}},
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250)}},
			NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "skiff-bench", ContainerRuntimeVersion: "containerd://bench"},
		}
		if _, err := kc.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %d status: %w", i, err)
		}
		return nil
	})
	for i := range 4 {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%d", i)}}, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	run(pods, func(i int) error {
		ns := fmt.Sprintf("team-%d", i%4)
		p, err := kc.CoreV1().Pods(ns).Create(ctx, benchPod(i), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			p, err = kc.CoreV1().Pods(ns).Get(ctx, benchPod(i).Name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("create pod %d: %w", i, err)
		}
		p.Status = corev1.PodStatus{
			QOSClass: p.Status.QOSClass, Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.244.%d.%d", i%nodes, 2+i/nodes), StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: p.Spec.Containers[0].Image, Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
		}
		if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("pod %d status: %w", i, err)
		}
		return nil
	})
}

// retryBusy runs f again, up to five times in all, while it fails because
// the cluster was busy: an election on a loaded machine answers writes
// with 503 or a timeout for a moment.
func retryBusy(ctx context.Context, f func() error) error {
	var err error
	for try := 0; try < 5; try++ {
		if err = f(); err == nil || !(apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}

// benchPod is a pod of a typical size: labels, one container with ports,
// env and requests, bound to a node.
func benchPod(i int) *corev1.Pod {
	app := fmt.Sprintf("app-%d", i%50)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", app, i), Labels: map[string]string{"app": app, "tier": "web"}},
		Spec: corev1.PodSpec{
			NodeName: fmt.Sprintf("node-%03d", i%benchNodes),
			Containers: []corev1.Container{{
				Name: "app", Image: "skiff.test/serve:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "bench"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
			}},
		},
	}
}
