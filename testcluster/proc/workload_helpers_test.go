package proc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// startWorkload builds the skiff binary and the demo images, and starts
// three servers and two workers. The cluster is closed when t ends.
func startWorkload(t *testing.T, ctx context.Context) *Cluster {
	t.Helper()
	SkipUnlessWorkers(t)
	dir := t.TempDir()
	var bin string
	var images []string
	var binErr, imgErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); bin, binErr = Build(dir) }()
	go func() { defer wg.Done(); images, imgErr = BuildDemoImages(ctx, dir) }()
	wg.Wait()
	if binErr != nil || imgErr != nil {
		t.Fatal(binErr, imgErr)
	}
	start := time.Now()
	c, err := Start(ctx, Options{Binary: bin, Dir: t.TempDir(), Workers: 2, WorkerImages: images})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3 servers and 2 workers ready in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			for i := range c.N() {
				t.Logf("server %s log tail:\n%s", Name(i), c.LogTail(i, 15))
			}
			for i := range c.Workers() {
				t.Logf("worker %s log tail:\n%s", WorkerName(i), c.WorkerLogTail(i, 25))
			}
		}
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// replicas is what the test sees of the demo Deployment's pods.
type replicas struct {
	ready  []corev1.Pod // Running, Ready, not terminating
	active int          // not terminating
}

func (r replicas) nodes() []string {
	var out []string
	for _, p := range r.ready {
		if !slices.Contains(out, p.Spec.NodeName) {
			out = append(out, p.Spec.NodeName)
		}
	}
	slices.Sort(out)
	return out
}

func (r replicas) names() []string {
	var out []string
	for _, p := range r.ready {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func isReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// demoReplicas lists the demo pods; image, when set, must be every ready
// pod's image for it to count.
func demoReplicas(ctx context.Context, kube kubernetes.Interface, image string) (replicas, error) {
	var r replicas
	list, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
	if err != nil {
		return r, err
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		r.active++
		if isReady(&p) && (image == "" || p.Spec.Containers[0].Image == image) {
			r.ready = append(r.ready, p)
		}
	}
	return r, nil
}

// waitReplicas waits until exactly want demo pods exist (not
// terminating), all Ready with image, on at least minNodes nodes.
func waitReplicas(ctx context.Context, kube kubernetes.Interface, want int, image string, minNodes int) (replicas, error) {
	var r replicas
	err := poll(ctx, func() error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		if r, err = demoReplicas(rctx, kube, image); err != nil {
			return err
		}
		if r.active != want || len(r.ready) != want || len(r.nodes()) < minNodes {
			return fmt.Errorf("%d pods, %d ready with %s on nodes %v; want %d on %d nodes", r.active, len(r.ready), image, r.nodes(), want, minNodes)
		}
		return nil
	})
	return r, err
}

// get asks url from client with a deadline and returns the body; any
// status but 200 is an error.
func get(ctx context.Context, client *http.Client, url string) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// answerers asks the Service's /version (at most max requests) until every
// pod in names has answered, and returns who answered. The demo answers
// "VERSION HOSTNAME"; a pod's host name is its name.
func answerers(ctx context.Context, client *http.Client, url string, names []string, max int) (map[string]string, error) {
	seen := map[string]string{}
	var lastErr error
	for range max {
		body, err := get(ctx, client, url)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		version, host, _ := strings.Cut(body, " ")
		seen[host] = version
		missing := false
		for _, n := range names {
			if _, ok := seen[n]; !ok {
				missing = true
			}
		}
		if !missing {
			return seen, nil
		}
	}
	return seen, fmt.Errorf("after %d requests answers came from %v, want every one of %v (last error: %v)", max, seen, names, lastErr)
}

// load sends GET requests to a URL at a steady pace from one goroutine,
// at most max of them, until stopped, and counts the answers.
type load struct {
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	ok       int
	failed   int
	errs     []string       // the first few failures
	versions map[string]int // answers per version
}

// startLoad starts a load loop; every is the pause between requests.
func startLoad(ctx context.Context, client *http.Client, url string, max int, every time.Duration) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{}), versions: map[string]int{}}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for range max {
			body, err := get(ctx, client, url)
			l.mu.Lock()
			if err != nil {
				l.failed++
				if len(l.errs) < 5 {
					l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
				}
			} else {
				l.ok++
				version, _, _ := strings.Cut(body, " ")
				l.versions[version]++
			}
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return l
}

// Stop ends the loop and waits for it.
func (l *load) Stop() {
	close(l.stop)
	<-l.done
}

func (l *load) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d ok, %d failed %v, versions %v", l.ok, l.failed, l.errs, l.versions)
}

func (l *load) counts() (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed
}

// waitReplacedOff waits until want demo pods with image are Ready on
// nodes other than gone, and returns them.
func waitReplacedOff(ctx context.Context, kube kubernetes.Interface, want int, image, gone string) (replicas, error) {
	var r replicas
	err := poll(ctx, func() error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		all, err := demoReplicas(rctx, kube, image)
		if err != nil {
			return err
		}
		r = replicas{}
		for _, p := range all.ready {
			if p.Spec.NodeName != gone {
				r.ready = append(r.ready, p)
			}
		}
		r.active = len(r.ready)
		if len(r.ready) < want {
			return fmt.Errorf("%d of %d pods ready off %s", len(r.ready), want, gone)
		}
		return nil
	})
	return r, err
}

// dumpPods logs the demo pods and the namespace's recent events, for a
// failure's diagnosis.
func dumpPods(t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
	if err != nil {
		t.Logf("dump pods: %v", err)
		return
	}
	for _, p := range list.Items {
		var conds []string
		for _, c := range p.Status.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				conds = append(conds, "waiting:"+w.Reason+":"+w.Message)
			}
		}
		t.Logf("pod %s node=%q phase=%s deleted=%v %v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil, conds)
	}
	evs, err := kube.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("dump events: %v", err)
		return
	}
	items := evs.Items
	if len(items) > 30 {
		items = items[len(items)-30:]
	}
	for _, e := range items {
		t.Logf("event %s %s %s/%s %s: %s", e.LastTimestamp.Format("15:04:05"), e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
}
