package controller_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/skiffhq/skiff/controller/internal/podsim"
	"github.com/skiffhq/skiff/testcluster"
)

// env is a three-server cluster whose leader runs the controller manager
// through the leadership seam (fenced clients of the controller role, one
// shared informer factory), and an admin client of server 0.
type env struct {
	c  *testcluster.Cluster
	kc kubernetes.Interface
}

func startEnv(t testing.TB, ctx context.Context) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Servers: 3, Controllers: true})
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	return &env{c: c, kc: kc}
}

// namespace creates a namespace and starts a simulated kubelet marking its
// pods ready.
func (e *env) namespace(t testing.TB, ctx context.Context, name string) *podsim.Kubelet {
	t.Helper()
	if _, err := e.kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	k := podsim.New(e.kc, name)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		k.Run(ctx, 4)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return k
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testcluster.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// kubectl runs the machine's kubectl against server 0 in namespace ns. It
// skips the test if there is no kubectl, unless SKIFF_REQUIRE_KUBECTL is
// set.
type kubectl struct {
	t    *testing.T
	path string
	env  []string
}

func newKubectl(t *testing.T, c *testcluster.Cluster, ns string) *kubectl {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if p := os.Getenv("SKIFF_KUBECTL"); p != "" {
		path, err = p, nil
	}
	if err != nil {
		if os.Getenv("SKIFF_REQUIRE_KUBECTL") != "" {
			t.Fatalf("kubectl not found: %v; SKIFF_REQUIRE_KUBECTL is set", err)
		}
		t.Skipf("kubectl not found: %v", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: c.URL(0), CertificateAuthorityData: c.CA()}
	cfg.AuthInfos["skiff"] = &clientcmdapi.AuthInfo{Token: c.AdminToken()}
	cfg.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: "skiff", Namespace: ns}
	cfg.CurrentContext = "skiff"
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return &kubectl{t: t, path: path, env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KUBECONFIG=" + kubeconfig}}
}

// must runs kubectl with args and returns its output, failing the test if
// it fails.
func (k *kubectl) must(args ...string) string {
	k.t.Helper()
	return k.mustStdin("", args...)
}

// mustStdin is must with stdin.
func (k *kubectl) mustStdin(stdin string, args ...string) string {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.path, args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		k.t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, &out, &errOut)
	}
	return out.String()
}
