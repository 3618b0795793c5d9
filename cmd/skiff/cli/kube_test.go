package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/internal/pki"
	"github.com/skiffhq/skiff/testcluster"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the commands' output")

// demoManifests is what a user keeps in git: a namespace, an app and its
// configuration, all labelled as one application.
const demoManifests = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {part-of: demo}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {part-of: demo}
spec:
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {part-of: demo}
data:
  greeting: hello
`

// transcript runs commands against one cluster and records what a user
// would see, normalized, for a golden file.
type transcript struct {
	t          *testing.T
	kubeconfig string
	out        strings.Builder
}

// run runs skiff with args (and the kubeconfig) and records the command,
// its output and its exit code.
func (tr *transcript) run(stdin string, args ...string) result {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append(append([]string(nil), args...), "--kubeconfig", tr.kubeconfig)
	r := runEnv(ctx, env{stdin: strings.NewReader(stdin), environ: []string{"HOME=" + tr.t.TempDir()}}, full...)
	fmt.Fprintf(&tr.out, "$ skiff %s\n%s", strings.Join(args, " "), r.stdout)
	if r.stderr != "" {
		fmt.Fprintf(&tr.out, "[stderr] %s", r.stderr)
	}
	if r.code != 0 {
		fmt.Fprintf(&tr.out, "[exit %d]\n", r.code)
	}
	tr.out.WriteString("\n")
	return r
}

// must runs skiff and fails the test unless it exits 0.
func (tr *transcript) must(stdin string, args ...string) result {
	tr.t.Helper()
	r := tr.run(stdin, args...)
	if r.code != 0 {
		tr.t.Fatalf("skiff %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|s|m|h|d)(\d+s)?\b`), "<age>"},
	{regexp.MustCompile(`\b10\.\d+\.\d+\.\d+\b`), "<cluster-ip>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uid>"},
	{regexp.MustCompile(`/tmp/\S+/`), "<tmp>/"},
	// Column widths follow the values replaced above.
	{regexp.MustCompile(`  +`), "  "},
}

// checkGolden compares got, normalized, with testdata/name.golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	for _, n := range normalizers {
		got = n.re.ReplaceAllString(got, n.with)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// startCluster starts a one-server cluster and writes an admin
// kubeconfig for it.
func startCluster(t *testing.T) (*testcluster.Cluster, kubernetes.Interface, string) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := pki.WriteKubeconfig(kc, c.URL(0), c.CA(), "admin", c.AdminToken()); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitFor(ctx, func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "kube-node-lease", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("system namespaces: %v", err)
	}
	return c, cs, kc
}

// TestDeployCommands runs the deploy workflow against a real server and
// compares what the user sees with testdata/deploy.golden: apply (and
// its idempotence), get in table and other formats, run, scale, set
// image, delete, prune, and the errors of bad input.
func TestDeployCommands(t *testing.T) {
	_, cs, kc := startCluster(t)
	ctx := context.Background()
	tr := &transcript{t: t, kubeconfig: kc}

	tr.must(demoManifests, "apply", "-f", "-", "-n", "demo")
	rv := func() string {
		d, err := cs.AppsV1().Deployments("demo").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(d.ResourceVersion, "/", d.Generation)
	}
	before := rv()
	tr.must(demoManifests, "apply", "-f", "-", "-n", "demo")
	if after := rv(); after != before {
		t.Errorf("a second apply changed the deployment: %s, then %s", before, after)
	}
	tr.must("", "get", "deploy,svc,cm", "-n", "demo")
	tr.must("", "get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].image}{\"\\n\"}")
	tr.must("", "get", "deploy", "-n", "demo", "-o", "name")
	tr.must("", "get", "ns", "demo")
	tr.run("", "get", "pods", "-n", "demo")

	tr.must("", "run", "api", "--image", "registry.local/api:1", "--replicas", "2", "--port", "8080", "--expose", "--env", "MODE=prod", "-n", "demo")
	tr.must("", "run", "api", "--image", "registry.local/api:1", "--replicas", "2", "--port", "8080", "--expose", "--env", "MODE=prod", "-n", "demo")
	tr.must("", "scale", "deploy/api", "--replicas", "3", "-n", "demo")
	tr.must("", "set", "image", "deploy/api", "api=registry.local/api:2", "-n", "demo")
	tr.run("", "set", "image", "deploy/api", "sidecar=x:1", "-n", "demo")
	tr.must("", "get", "deploy", "api", "-n", "demo", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}{\"\\n\"}")
	tr.must("", "get", "deploy,svc", "-n", "demo", "-l", "app=api", "-o", "wide")

	// Pruning: the ConfigMap left the manifests.
	withoutConfig := demoManifests[:strings.Index(demoManifests, "---\napiVersion: v1\nkind: ConfigMap")]
	tr.must(withoutConfig, "apply", "-f", "-", "-n", "demo", "--prune", "-l", "part-of=demo")
	tr.must("", "delete", "svc", "api", "-n", "demo")
	tr.run("", "delete", "svc", "api", "-n", "demo")

	// Errors in the user's terms.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1\n"), 0o644)
	tr.run("", "apply", "-f", bad, "-n", "demo")
	tr.run("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n", "apply", "-f", "-", "-n", "demo")
	tr.run("", "get", "widgets")
	tr.run("", "apply", "-n", "demo")
	tr.run("", "run", "Bad_Name", "--image", "x")
	checkGolden(t, "deploy", tr.out.String())

	r := runEnv(ctx, env{environ: []string{"HOME=" + t.TempDir()}}, "get", "pods", "--server", "https://127.0.0.1:1", "--token", "x", "--insecure-skip-tls-verify")
	if r.code != 1 || !strings.Contains(r.stderr, "no route to any server; tried https://127.0.0.1:1 (connection refused)") {
		t.Errorf("unreachable server: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRolloutCommands drives rollout status, --wait and the rollout
// patches. With no controllers in the test cluster, the test plays the
// deployment controller's part by writing the status a controller would.
func TestRolloutCommands(t *testing.T) {
	_, cs, kc := startCluster(t)
	ctx := context.Background()
	tr := &transcript{t: t, kubeconfig: kc}
	tr.must("", "run", "web", "--image", "nginx:1.27", "--replicas", "2")

	d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status.ObservedGeneration = d.Generation
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.ReadyReplicas = 2, 2, 1, 1
	if d, err = cs.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.run("", "rollout", "status", "deploy/web", "--timeout", "1s")
	d.Status.AvailableReplicas, d.Status.ReadyReplicas = 2, 2
	if _, err = cs.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.must("", "rollout", "status", "deploy/web")

	// A pod of the deployment that cannot pull its image: --wait says so.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
	if pod, err = cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: "nginx:1.27", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "nginx:1.27"`}}}}
	if _, err = cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.run("", "scale", "deploy/web", "--replicas", "3", "--wait", "--timeout", "30s")

	tr.must("", "rollout", "pause", "deploy/web")
	tr.run("", "rollout", "pause", "deploy/web")
	tr.must("", "rollout", "resume", "deploy/web")
	tr.must("", "rollout", "restart", "deploy/web")
	tr.run("", "rollout", "history", "deploy/web")
	tr.run("", "logs", "web-1")
	tr.run("", "events")
	checkGolden(t, "rollout", tr.out.String())

	r := runEnv(ctx, env{environ: []string{"HOME=" + t.TempDir()}}, "describe", "deploy", "web", "--kubeconfig", kc)
	for _, want := range []string{"Name:", "web", "Replicas:", "3 desired", "Pod Template:", "nginx:1.27"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}

// TestNodeCommands: list, cordon, uncordon and drain a node (with no
// pods, drain cordons and finishes).
func TestNodeCommands(t *testing.T) {
	_, cs, kc := startCluster(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr := &transcript{t: t, kubeconfig: kc}
	tr.must("", "node", "list")
	tr.must("", "node", "cordon", "n1")
	tr.must("", "node", "cordon", "n1")
	tr.must("", "node", "uncordon", "n1")
	tr.must("", "node", "drain", "n1", "--timeout", "20s")
	n, err := cs.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || !n.Spec.Unschedulable {
		t.Errorf("after drain: %v unschedulable=%v", err, n != nil && n.Spec.Unschedulable)
	}
	tr.run("", "node", "cordon", "missing")
	checkGolden(t, "node", tr.out.String())
}
