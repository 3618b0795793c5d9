package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/internal/logtail"
	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/testcluster"
	"github.com/skiffhq/skiff/worker"
	wcontainerd "github.com/skiffhq/skiff/worker/containerd"
	"github.com/skiffhq/skiff/worker/internal/worktest"
)

// images builds the test program's image once for this test binary.
var images = worktest.Builder()

// env is a cluster of three real servers, a private containerd and a
// worker running in the test process.
type env struct {
	t       testing.TB
	c       *testcluster.Cluster
	d       *testcontainerd.Daemon
	ctrd    *containerd.Client
	admin   kubernetes.Interface
	dataDir string
	bridge  string
	podCIDR string // random, so a bridge a crashed run left cannot clash
	// gossipAddr is the worker's, kept across restarts.
	gossipAddr string
	// workerHook, when set, edits the worker's configuration before each
	// start and returns the worker's node services.
	workerHook func(*config.Worker) []worker.Service

	mu      sync.Mutex
	logFile *os.File
	stop    context.CancelFunc
	done    chan error
	worker  *worker.Worker
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := newBareEnv(t)
	e.startWorker(t)
	t.Cleanup(func() {
		e.drain(t)
		e.stopWorker()
	})
	return e
}

// logger returns the worker's logger: debug lines to stderr with
// SKIFF_TEST_LOG=1, else into a file whose tail the test prints when it
// fails, so a failure in CI carries the worker's side of the story.
func (e *env) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.logFile == nil {
		f, err := os.CreateTemp("", "worker-log-*")
		if err != nil {
			return slog.New(slog.DiscardHandler)
		}
		e.logFile = f
		e.t.Cleanup(func() {
			if e.t.Failed() {
				e.t.Logf("worker log (last lines of %s):\n%s", f.Name(), logtail.Lines(f.Name(), 150))
			}
			f.Close()
			os.Remove(f.Name())
		})
	}
	return slog.New(slog.NewTextHandler(e.logFile, opts))
}

// newBareEnv is newEnv without the worker.
func newBareEnv(t testing.TB) *env { return newBareEnvWith(t, testcluster.Options{}) }

// newBareEnvWith is newBareEnv on a cluster started with opts.
func newBareEnvWith(t testing.TB, opts testcluster.Options) *env {
	t.Helper()
	worktest.RequireCNI(t)
	d, client := worktest.Containerd(t, images)
	c := testcluster.Start(t, opts)
	admin, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, c: c, d: d, ctrd: client, admin: admin, dataDir: t.TempDir(), bridge: worktest.Bridge(t),
		podCIDR: fmt.Sprintf("10.252.%d.0/24", 1+mrand.IntN(250)), gossipAddr: freeGossipAddr(t)}
}

// freeGossipAddr returns a loopback address whose port is free for both
// TCP and UDP, so that a restarted worker comes back on the address it
// had, as a configured one does (a new address for a name gossip still
// holds alive is a conflict until the old one is declared dead).
func freeGossipAddr(t testing.TB) string {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

// startWorker starts a worker named w1 on the env's data directory; a
// second start after stopWorker is a worker restart.
func (e *env) startWorker(t testing.TB) {
	cfg := config.DefaultWorker()
	cfg.Name = "w1"
	cfg.DataDir = e.dataDir
	cfg.Join = []string{e.c.Config(0).GossipAddr}
	cfg.Token = e.c.Token()
	cfg.ContainerdSocket = e.d.Address
	cfg.GossipAddr = e.gossipAddr
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.CNIConfDir = filepath.Join(e.dataDir, "cni")
	cfg.CNIBridge = e.bridge
	cfg.LeaseRenew = time.Second
	log := e.logger()
	rt, err := wcontainerd.New(wcontainerd.Options{
		Client: e.ctrd, DataDir: cfg.DataDir, CNIBinDir: cfg.CNIBinDir, CNIConfDir: cfg.CNIConfDir, Bridge: cfg.CNIBridge,
		Snapshotter: e.d.Snapshotter, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	var svcs []worker.Service
	if e.workerHook != nil {
		svcs = e.workerHook(&cfg)
	}
	w, err := worker.New(worker.Config{Worker: cfg, Runtime: rt, Log: log, Services: svcs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := w.Run(ctx)
		rt.Close()
		done <- err
	}()
	e.mu.Lock()
	e.stop, e.done, e.worker = cancel, done, w
	e.mu.Unlock()
	e.givePodCIDR(t)
}

// givePodCIDR waits for node w1 and gives it a pod CIDR when it has none:
// the node IPAM controller is another component.
func (e *env) givePodCIDR(t testing.TB) {
	e.waitFor(t, "node w1 registered", 30*time.Second, func() bool {
		n, err := e.admin.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{})
		if err != nil {
			return false
		}
		if n.Spec.PodCIDR == "" {
			n.Spec.PodCIDR = e.podCIDR
			n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
			_, err = e.admin.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
			return err == nil
		}
		return true
	})
}

// stopWorker stops the worker process (its containers keep running).
func (e *env) stopWorker() {
	e.mu.Lock()
	stop, done := e.stop, e.done
	e.stop = nil
	e.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			e.t.Errorf("worker Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Error("worker did not stop within 30s")
	}
}

func (e *env) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testcluster.WaitFor(ctx, cond); err != nil {
		e.logPods(t)
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// logPods logs the phase and container states of every pod, for a
// failure message that says where each pod got stuck.
func (e *env) logPods(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := e.admin.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("list pods: %v", err)
		return
	}
	for _, p := range l.Items {
		var cs []string
		for _, c := range p.Status.ContainerStatuses {
			cs = append(cs, fmt.Sprintf("%s restarts=%d state=%+v", c.Name, c.RestartCount, c.State))
		}
		t.Logf("pod %s: phase=%s deleting=%v podIP=%q conditions=%d containers=%v", p.Name, p.Status.Phase,
			p.DeletionTimestamp != nil, p.Status.PodIP, len(p.Status.Conditions), cs)
	}
}

// pod returns the pod named name, or nil.
func (e *env) pod(name string) *corev1.Pod {
	p, err := e.admin.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

// createPod creates a pod bound to w1 running the test program with env.
func (e *env) createPod(t testing.TB, name string, edit func(*corev1.Pod), env ...corev1.EnvVar) *corev1.Pod {
	t.Helper()
	grace := int64(5)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      "w1",
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "app", Image: worktest.Image, ImagePullPolicy: corev1.PullNever, Env: env,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
	if edit != nil {
		edit(p)
	}
	out, err := e.admin.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	return out
}

func get(url string) (int, string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func running(p *corev1.Pod) bool {
	return p != nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" &&
		len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deletePod(t *testing.T, e *env, name string) {
	t.Helper()
	if err := e.admin.CoreV1().Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
	e.waitFor(t, "pod "+name+" gone", 30*time.Second, func() bool {
		_, err := e.admin.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// containerdIDs returns the pod names of the containers in containerd.
func containerdIDs(t testing.TB, e *env) map[string]bool {
	t.Helper()
	cs, err := e.ctrd.Containers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range cs {
		l, err := c.Labels(context.Background())
		if err == nil {
			out[l["io.skiff.pod.name"]] = true
		}
	}
	return out
}

// drain deletes every pod and waits until the worker has confirmed each
// deletion, which it does after removing the pod's containers and network
// namespace (the test's temporary directory holds the namespace mounts),
// and until every sandbox is gone: the API removes a finished pod
// (Succeeded or Failed) at once, without waiting for the worker.
func (e *env) drain(t testing.TB) {
	ctx := context.Background()
	one := int64(1)
	pods, err := e.admin.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("drain: %v", err)
		return
	}
	for _, p := range pods.Items {
		e.admin.CoreV1().Pods("default").Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &one})
	}
	e.waitFor(t, "every pod gone", 30*time.Second, func() bool {
		l, err := e.admin.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0
	})
	e.waitFor(t, "every sandbox removed", 30*time.Second, func() bool {
		ents, err := os.ReadDir(filepath.Join(e.dataDir, "pods"))
		return (err == nil || os.IsNotExist(err)) && len(ents) == 0
	})
}
