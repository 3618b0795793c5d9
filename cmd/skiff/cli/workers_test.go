package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
	"github.com/skiffhq/skiff/testcluster"
	"github.com/skiffhq/skiff/worker"
	wcontainerd "github.com/skiffhq/skiff/worker/containerd"
)

// requireCNI skips (or, with SKIFF_REQUIRE_WORKER=1, fails) a test that
// runs pods when the CNI plugins are missing.
func requireCNI(t *testing.T) {
	t.Helper()
	testcontainerd.SkipUnlessAvailable(t)
	if _, err := os.Stat(filepath.Join(config.DefaultCNIBinDir, "bridge")); err != nil {
		if os.Getenv(testcontainerd.RequireEnv) == "1" {
			t.Fatalf("CNI plugins missing in %s and %s=1 forbids skipping", config.DefaultCNIBinDir, testcontainerd.RequireEnv)
		}
		t.Skipf("CNI plugins missing in %s (apt-get install containernetworking-plugins)", config.DefaultCNIBinDir)
	}
}

// startRealWorker runs worker w1 of cluster c on a private containerd,
// gives its Node a pod CIDR (no node IPAM runs without controllers) and
// waits until it is Ready. Cleanup deletes the pods, waits until the
// worker has removed them, and stops it.
func startRealWorker(t *testing.T, c *testcluster.Cluster, cs kubernetes.Interface) {
	t.Helper()
	requireCNI(t)
	d := testcontainerd.Start(t)
	client, err := containerd.New(d.Address, containerd.WithDefaultNamespace(wcontainerd.Namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	var b [4]byte
	rand.Read(b[:])
	bridge := "skc" + hex.EncodeToString(b[:])
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })

	cfg := config.DefaultWorker()
	cfg.Name, cfg.DataDir = "w1", t.TempDir()
	cfg.Join, cfg.Token = []string{c.Config(0).GossipAddr}, c.Token()
	cfg.ContainerdSocket, cfg.GossipAddr, cfg.ListenAddr = d.Address, "127.0.0.1:0", "127.0.0.1:0"
	cfg.CNIConfDir, cfg.CNIBridge = filepath.Join(cfg.DataDir, "cni"), bridge
	cfg.LeaseRenew = time.Second
	log := slog.New(slog.DiscardHandler)
	rt, err := wcontainerd.New(wcontainerd.Options{Client: client, DataDir: cfg.DataDir, CNIBinDir: cfg.CNIBinDir,
		CNIConfDir: cfg.CNIConfDir, Bridge: bridge, Snapshotter: d.Snapshotter, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{Worker: cfg, Runtime: rt, Log: log})
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
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop within 30s")
		}
	})
	t.Cleanup(func() { deleteAllPods(t, cs) })
	podCIDR := fmt.Sprintf("10.251.%d.0/24", 1+mrand.IntN(250))
	waitUntil(t, "node w1 Ready with a pod CIDR", 60*time.Second, func() bool {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{})
		if err != nil {
			return false
		}
		if n.Spec.PodCIDR == "" {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDR, []string{podCIDR}
			cs.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
			return false
		}
		return nodeReady(n) && n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0
	})
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testcluster.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// deleteAllPods deletes the default namespace's pods and waits until the
// worker has confirmed each deletion (after removing its containers and
// network namespace, which live in the test's temporary directory).
func deleteAllPods(t *testing.T, cs kubernetes.Interface) {
	ctx := context.Background()
	one := int64(1)
	cs.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &one}, metav1.ListOptions{})
	waitUntil(t, "every pod gone", 30*time.Second, func() bool {
		l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0
	})
}

// TestWorkerCommandsWithRealWorker runs image import --node, top and
// cluster status against a real server and a real worker on a private
// containerd: the image goes through the API to the worker, a pod runs
// from it, and top and cluster status show it.
func TestWorkerCommandsWithRealWorker(t *testing.T) {
	c, cs, kc := startCluster(t, false)
	startRealWorker(t, c, cs)
	ctx := context.Background()
	home := []string{"HOME=" + t.TempDir()}
	cli := func(args ...string) result {
		return runEnv(ctx, env{environ: home}, append(args, "--kubeconfig", kc)...)
	}

	img := testimages.Image(t, testimages.Serve)
	r := cli("image", "import", "--node", "w1", img.Path)
	if r.code != 0 {
		t.Fatalf("image import --node w1: exit %d: %s", r.code, r.stderr)
	}
	want := fmt.Sprintf("imported %s (%s) on node w1\n", img.Ref, img.Manifest.Digest)
	if !strings.HasPrefix(r.stdout, "uploaded "+filepath.Base(img.Path)+" (") || !strings.HasSuffix(r.stdout, want) {
		t.Errorf("image import printed %q, want an upload line and %q", r.stdout, want)
	}

	// A pod runs from the imported image: no registry, imagePullPolicy Never.
	grace := int64(1)
	_, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{NodeName: "w1", TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{
			{Name: "serve", Image: img.Ref, ImagePullPolicy: corev1.PullNever}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "pod web running", 60*time.Second, func() bool {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})

	podRow := regexp.MustCompile(`(?m)^web\s+\d+m\s+\d+Mi$`)
	waitUntil(t, "top pods listing web", 30*time.Second, func() bool {
		r = cli("top", "pods")
		return r.code == 0 && podRow.MatchString(r.stdout)
	})
	if !strings.HasPrefix(r.stdout, "NAME   CPU(cores)   MEMORY(bytes)\n") {
		t.Errorf("top pods header: %q", r.stdout)
	}
	t.Logf("top pods:\n%s", r.stdout)

	for _, tc := range []struct {
		name string
		args []string
		row  string
	}{
		{"all namespaces, containers", []string{"top", "pods", "-A", "--containers"}, `(?m)^default\s+web\s+serve\s+\d+m\s+\d+Mi$`},
		{"one pod", []string{"top", "pods", "web"}, `(?m)^web\s+\d+m\s+\d+Mi$`},
		{"nodes", []string{"top", "nodes"}, `(?m)^w1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%$`},
		{"nodes by label, no headers", []string{"top", "nodes", "-l", "kubernetes.io/hostname", "--no-headers"}, `^w1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(tc.args...)
			if r.code != 0 || !regexp.MustCompile(tc.row).MatchString(r.stdout) {
				t.Errorf("%v: exit %d stdout %q stderr %q, want a row matching %s", tc.args, r.code, r.stdout, r.stderr, tc.row)
			}
		})
	}

	// kubectl top reads the metrics.k8s.io API the servers serve from the
	// same summaries.
	t.Run("kubectl top", func(t *testing.T) {
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			if os.Getenv("SKIFF_REQUIRE_KUBECTL") != "" {
				t.Fatalf("kubectl not found: %v; SKIFF_REQUIRE_KUBECTL is set", err)
			}
			t.Skipf("kubectl not found: %v", err)
		}
		for _, tc := range []struct {
			args []string
			row  string
		}{
			{[]string{"top", "pods"}, `(?m)^web\s+\d+m\s+\d+Mi\s*$`},
			{[]string{"top", "pods", "-A", "--containers"}, `(?m)^default\s+web\s+serve\s+\d+m\s+\d+Mi\s*$`},
			{[]string{"top", "nodes"}, `(?m)^w1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$`},
		} {
			cmd := exec.Command(kubectl, append(tc.args, "--kubeconfig", kc)...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil || !regexp.MustCompile(tc.row).Match(out) {
				t.Errorf("kubectl %v: %v\n%s\nwant a row matching %s", tc.args, err, out, tc.row)
			}
		}
	})

	// A read-only user may read usage (the metrics API) but not reach a
	// worker (the node proxy, which image import uses).
	t.Run("read-only user", func(t *testing.T) {
		ca := caFile(t, c)
		r := runEnv(ctx, env{environ: home}, "token", "create", "--role", "read-only", "--server", c.URL(0), "--token", c.AdminToken(), "--ca-file", ca)
		if r.code != 0 {
			t.Fatalf("token create: exit %d: %s", r.code, r.stderr)
		}
		ro := []string{"--server", c.URL(0), "--token", strings.TrimSpace(r.stdout), "--certificate-authority", ca}
		r = runEnv(ctx, env{environ: home}, append([]string{"top", "pods"}, ro...)...)
		if r.code != 0 || !podRow.MatchString(r.stdout) {
			t.Errorf("read-only top pods: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		r = runEnv(ctx, env{environ: home}, append([]string{"image", "import", "--node", "w1", img.Path}, ro...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "Forbidden") || !strings.Contains(r.stderr, "nodes/proxy") {
			t.Errorf("read-only image import: exit %d stderr %q, want Forbidden on nodes/proxy", r.code, r.stderr)
		}
	})

	// A Node without a worker: never Ready, no usage.
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // regexp on stdout
		err  string // in stderr
	}{
		{"top shows a node without usage", []string{"top", "nodes"}, 0, `(?m)^w2\s+<unknown>\s+<unknown>\s+<unknown>\s+<unknown>$`, ""},
		{"top of a node that is not Ready", []string{"top", "nodes", "w2"}, 1, `^$`, "usage of node w2 is not available: the node is not Ready"},
		{"top of a pod that does not exist", []string{"top", "pods", "nope"}, 1, `^$`, `pods "nope" not found`},
		{"import on an unknown node", []string{"image", "import", "--node", "nope", img.Path}, 1, `^$`, `node "nope" not found (--node); nodes: w1, w2`},
		{"import on a node that is not Ready", []string{"image", "import", "--node", "w2", img.Path}, 1, `^$`, "node w2 is not Ready (--node): it has not reported Ready yet"},
		{"import of a file that is no archive", []string{"image", "import", "--node", "w1", "/etc/hostname"}, 1, `^$`, "/etc/hostname"},
		{"local flags with --node", []string{"image", "import", "--node", "w1", "--snapshotter", "native", img.Path}, 2, `^$`, "--snapshotter is for a local import"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(tc.args...)
			if r.code != tc.code || !regexp.MustCompile(tc.out).MatchString(r.stdout) || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("%v: exit %d stdout %q stderr %q\nwant %d, stdout matching %s, stderr with %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.out, tc.err)
			}
		})
	}

	// cluster status with the cluster token (as --config gives): the
	// server, then w1 alive and Ready with its pod, and w2, which gossip
	// has never seen.
	r = runEnv(ctx, env{environ: home}, "cluster", "status", "--server", c.URL(0), "--token", c.Token(), "--ca-file", caFile(t, c))
	if r.code != 0 {
		t.Fatalf("cluster status: exit %d: %s", r.code, r.stderr)
	}
	for _, row := range []string{`(?m)^WORKER\s+ADDRESS\s+GOSSIP\s+READY\s+PODS$`, `(?m)^w1\s+127\.0\.0\.1:\d+\s+alive\s+True\s+1$`, `(?m)^w2\s+-\s+gone\s+Unknown\s+0$`} {
		if !regexp.MustCompile(row).MatchString(r.stdout) {
			t.Errorf("cluster status:\n%s\nhas no line matching %s", r.stdout, row)
		}
	}
	t.Logf("cluster status:\n%s", r.stdout)
	if err := cs.CoreV1().Nodes().Delete(ctx, "w2", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// caFile writes the cluster CA for the operator client's --ca-file.
func caFile(t *testing.T, c *testcluster.Cluster) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, c.CA(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
