package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// TestDefaultKubeconfig: --kubeconfig, then KUBECONFIG, then
// ~/.kube/config, then what skiff dev writes, from the directory it ran in.
func TestDefaultKubeconfig(t *testing.T) {
	home, work := t.TempDir(), t.TempDir()
	t.Chdir(work)
	dev := filepath.Join(config.DevDataDir, server.AdminKubeconfig)
	homeConfig := filepath.Join(home, ".kube", "config")
	for _, tc := range []struct {
		name     string
		flag     string
		environ  []string
		files    []string
		want     string
		explicit bool
	}{
		{name: "nothing", want: ""},
		{name: "dev only", files: []string{dev}, want: dev},
		{name: "home beats dev", files: []string{dev, homeConfig}, environ: []string{"HOME=" + home}, want: homeConfig},
		{name: "KUBECONFIG beats home", files: []string{dev, homeConfig}, environ: []string{"HOME=" + home, "KUBECONFIG=/k/config"}, want: "/k/config"},
		{name: "flag beats all", flag: "/f/config", files: []string{dev, homeConfig}, environ: []string{"HOME=" + home, "KUBECONFIG=/k/config"}, want: "/f/config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(work, ".skiff"))
			os.RemoveAll(filepath.Join(home, ".kube"))
			for _, f := range tc.files {
				if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k := addKubeFlags(&cobra.Command{}, env{environ: tc.environ})
			*k.flags.KubeConfig = tc.flag
			k.defaultKubeconfig()
			if got := *k.flags.KubeConfig; got != tc.want {
				t.Errorf("kubeconfig %q, want %q", got, tc.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientExtras: get -A and -w, --v=6, completion of names, exec
// against a server that does not serve it, apply of a directory with -R.
func TestClientExtras(t *testing.T) {
	_, cs, kc := startCluster(t, false)
	ctx := context.Background()
	environ := []string{"HOME=" + t.TempDir()}
	skiff := func(args ...string) result {
		t.Helper()
		return runEnv(ctx, env{environ: environ}, append(args, "--kubeconfig", kc)...)
	}

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: kube-system}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "sub", "b.json"), []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`), 0o600)
	if r := skiff("apply", "-f", dir); r.code != 0 || strings.Contains(r.stdout, "configmap/b") {
		t.Errorf("apply -f DIR without -R: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := skiff("apply", "-f", dir, "-R"); r.code != 0 || !strings.Contains(r.stdout, "configmap/b created") || !strings.Contains(r.stdout, "configmap/a unchanged") {
		t.Errorf("apply -f DIR -R: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	r := skiff("get", "cm", "-A", "-l", "!kube-root", "--v=6")
	if r.code != 0 || !strings.Contains(r.stdout, "NAMESPACE") || !strings.Contains(r.stdout, "kube-system") || !strings.Contains(r.stdout, "default") {
		t.Errorf("get -A: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "GET https://") || !strings.Contains(r.stderr, "200 OK") {
		t.Errorf("--v=6 shows no requests: %q", r.stderr)
	}
	if strings.Contains(skiff("get", "cm").stderr, "GET https://") {
		t.Error("requests shown without --v")
	}
	if r := runEnv(ctx, env{environ: environ}, "get", "pods"); r.code != 1 || !strings.Contains(r.stderr, "no cluster configured") {
		t.Errorf("get without any configuration: exit %d %q", r.code, r.stderr)
	}

	r = runEnv(ctx, env{environ: environ}, "__complete", "get", "--kubeconfig", kc, "configmaps", "")
	if !strings.Contains(r.stdout, "b\n") || !strings.Contains(r.stdout, ":4") {
		t.Errorf("completion of configmap names: %q %q", r.stdout, r.stderr)
	}
	r = runEnv(ctx, env{environ: environ}, "__complete", "get", "--kubeconfig", kc, "")
	if !strings.Contains(r.stdout, "deployments\n") || !strings.Contains(r.stdout, "configmaps\n") {
		t.Errorf("completion of kinds: %q", r.stdout)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := runCLI(t, nil, "completion", sh); r.code != 0 || !strings.Contains(r.stdout, "skiff") {
			t.Errorf("completion %s: exit %d %q", sh, r.code, r.stderr)
		}
	}

	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := runEnv(ctx, env{environ: environ}, "exec", "--kubeconfig", kc, "p", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "pod p does not have a host assigned") {
		t.Errorf("exec: exit %d %q", r.code, r.stderr)
	}

	// get -w prints a row for a change made after the listing.
	wctx, cancel := context.WithCancel(ctx)
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(wctx, []string{"get", "cm", "-w", "--kubeconfig", kc}, env{environ: environ, stdout: out, stderr: out})
	}()
	deadline, dcancel := context.WithTimeout(ctx, 20*time.Second)
	defer dcancel()
	if err := testcluster.WaitFor(deadline, func() bool { return strings.Contains(out.String(), "NAME") }); err != nil {
		t.Fatalf("get -w printed no listing: %q", out.String())
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testcluster.WaitFor(deadline, func() bool { return strings.Contains(out.String(), "watched") }); err != nil {
		t.Errorf("get -w did not print the new object: %q", out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("get -w ended with %d after Ctrl-C: %q", code, out.String())
		}
	case <-deadline.Done():
		t.Fatal("get -w did not stop when its context ended")
	}
}
