package testcluster_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// Watch-scale benchmark shape (issue 8): workers each watch their own
// node's pods, a few components watch every pod.
const (
	benchNodes       = 1000
	benchAllWatchers = 100
	benchWriters     = 64
)

// BenchmarkWatchScale measures pod-create throughput through the API
// (64 client-go writers spread over three servers) first with no watchers,
// then, in the same cluster, with 1,000 watchers of one node's pods each
// (fieldSelector=spec.nodeName=node-N, like workers) and 100 watchers of
// every pod, spread over the servers. It checks that every watcher got
// exactly its events (each pod once, no other) and reports the ratio of
// the two throughputs and the process's memory (the three servers, the
// writers and the watchers' connections share the process; the watchers
// only count lines). SKIFF_WATCH_PODS sets the pods created per phase
// (default 5000). Run with -benchtime=1x.
func BenchmarkWatchScale(b *testing.B) {
	pods := 5000
	if v, err := strconv.Atoi(os.Getenv("SKIFF_WATCH_PODS")); err == nil && v > 0 {
		pods = v
	}
	for n := 0; n < b.N; n++ {
		c := testcluster.Start(b, testcluster.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		kcs := kubeClients(b, c)
		for _, ns := range []string{"quiet", "watched"} {
			if _, err := kcs[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		base, _ := createPods(b, ctx, kcs, "quiet", pods, true)
		rssQuiet := memLine()

		list, err := kcs[0].CoreV1().Pods("watched").List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ws := startWatchers(b, ctx, c, list.ResourceVersion)
		rssIdle := memLine()
		loaded, created := createPods(b, ctx, kcs, "watched", pods, false)
		ws.created = created
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
		if err := testcluster.WaitFor(wctx, ws.done); err != nil {
			b.Errorf("watchers never got every event: %s", ws.summary())
		}
		wcancel()
		rssLoaded := memLine()
		ws.stop()
		if msg := ws.check(); msg != "" {
			b.Error(msg)
		}
		ratio := loaded / base
		b.ReportMetric(base, "quiet-writes/s")
		b.ReportMetric(loaded, "watched-writes/s")
		b.ReportMetric(ratio, "ratio")
		b.Logf("watch: pods=%d writers=%d node-watchers=%d all-watchers=%d quiet=%.0f/s watched=%.0f/s ratio=%.2f events=%d exact=%t",
			pods, benchWriters, benchNodes, benchAllWatchers, base, loaded, ratio, ws.events.Load(), !b.Failed())
		b.Logf("watch: memory after quiet writes: %s; with %d idle watches: %s; after watched writes: %s",
			rssQuiet, benchNodes+benchAllWatchers, rssIdle, rssLoaded)
		c.Close()
	}
}

// createPods creates n pods in ns, pod i bound to node-(i mod 1000),
// with benchWriters client-go writers each on server (writer mod 3). It
// returns the throughput of successful creates and which pods were
// created; failures fail the benchmark if strict, else they are logged
// (the watchers then expect only the pods that exist).
func createPods(b *testing.B, ctx context.Context, kcs []kubernetes.Interface, ns string, n int, strict bool) (float64, []bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	created := make([]bool, n)
	var mu sync.Mutex
	var errs []error
	start := time.Now()
	for w := range benchWriters {
		kc := kcs[w%len(kcs)]
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, err := kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%06d", i), Labels: map[string]string{"app": "bench"}},
					Spec: corev1.PodSpec{NodeName: benchNode(i % benchNodes),
						Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1"}}},
				}, metav1.CreateOptions{})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					created[i] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	if len(errs) > 0 {
		msg := fmt.Sprintf("%d of %d pod creates in %s failed, first: %v", len(errs), n, ns, errs[0])
		if strict {
			b.Fatal(msg)
		}
		b.Error(msg)
	}
	return float64(n-len(errs)) / el.Seconds(), created
}

func benchNode(i int) string { return fmt.Sprintf("node-%04d", i) }

// benchWatchers are the raw watch streams. Each counts the pods it was
// told about, by index, without decoding the objects: the benchmark
// measures the server, so the clients that share its process stay cheap.
type benchWatchers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events atomic.Int64
	mu     sync.Mutex
	// seen[w][i] counts ADDED events of pod i at watcher w (0..999 node
	// watchers, then the all-pod watchers); bad counts other events.
	seen []map[int]int
	bad  []string
	// created says which pods exist, set once the writes are done.
	created []bool
}

func startWatchers(b *testing.B, ctx context.Context, c *testcluster.Cluster, rv string) *benchWatchers {
	wctx, cancel := context.WithCancel(ctx)
	ws := &benchWatchers{cancel: cancel, seen: make([]map[int]int, benchNodes+benchAllWatchers)}
	hc := c.HTTPClient()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = -1
	ready := make(chan error, len(ws.seen))
	for w := range ws.seen {
		ws.seen[w] = map[int]int{}
		q := url.Values{"watch": {"true"}, "resourceVersion": {rv}, "timeoutSeconds": {"1200"}}
		if w < benchNodes {
			q.Set("fieldSelector", "spec.nodeName="+benchNode(w))
		}
		req, err := http.NewRequestWithContext(wctx, http.MethodGet, c.URL(w%c.N())+"/api/v1/namespaces/watched/pods?"+q.Encode(), nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.AdminToken())
		ws.wg.Go(func() { ws.read(hc, req, w, ready) })
	}
	for range ws.seen {
		if err := <-ready; err != nil {
			b.Fatal(err)
		}
	}
	return ws
}

var podName = []byte(`"name":"p-`)

func (ws *benchWatchers) read(hc *http.Client, req *http.Request, w int, ready chan<- error) {
	resp, err := hc.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("watch %d: %s", w, resp.Status)
	}
	ready <- err
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		ws.events.Add(1)
		i := bytes.Index(line, podName)
		idx := -1
		if i >= 0 {
			rest := line[i+len(podName):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				idx, _ = strconv.Atoi(string(rest[:j]))
			}
		}
		ws.mu.Lock()
		if !bytes.HasPrefix(line, []byte(`{"type":"ADDED"`)) || idx < 0 || (w < benchNodes && idx%benchNodes != w) {
			ws.bad = append(ws.bad, fmt.Sprintf("watcher %d: %.120s", w, line))
		} else {
			ws.seen[w][idx]++
		}
		ws.mu.Unlock()
	}
}

// want is how many pods watcher w must see: those created on its node,
// or all created pods.
func (ws *benchWatchers) want(w int) int {
	n := 0
	for i, ok := range ws.created {
		if ok && (w >= benchNodes || i%benchNodes == w) {
			n++
		}
	}
	return n
}

// done reports whether every watcher has seen as many pods as it should.
func (ws *benchWatchers) done() bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w, s := range ws.seen {
		if len(s) < ws.want(w) {
			return false
		}
	}
	return true
}

// check returns what is wrong with what the watchers saw, or "": each
// must have seen each of its created pods once and nothing else.
func (ws *benchWatchers) check() string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.bad) > 0 {
		return fmt.Sprintf("%d unexpected events, first: %s", len(ws.bad), ws.bad[0])
	}
	for w, s := range ws.seen {
		if len(s) != ws.want(w) {
			return fmt.Sprintf("watcher %d saw %d pods, want %d", w, len(s), ws.want(w))
		}
		for i, k := range s {
			if k != 1 || !ws.created[i] {
				return fmt.Sprintf("watcher %d saw pod %d %d times (created: %t)", w, i, k, ws.created[i])
			}
		}
	}
	return ""
}

func (ws *benchWatchers) summary() string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	short := 0
	for w, s := range ws.seen {
		if len(s) < ws.want(w) {
			short++
		}
	}
	return fmt.Sprintf("%d watchers short of their events, %d bad events", short, len(ws.bad))
}

func (ws *benchWatchers) stop() {
	ws.cancel()
	ws.wg.Wait()
}

// memLine reports the process's resident set (now and peak, from
// /proc/self/status) and the Go heap in use after a collection.
func memLine() string {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := "?", "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "VmRSS:" {
				rss = f[1] + "kB"
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm = f[1] + "kB"
			}
		}
	}
	return fmt.Sprintf("rss=%s peak=%s heap=%dMiB goroutines=%d", rss, hwm, ms.HeapInuse>>20, runtime.NumGoroutine())
}
