package testcluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The kubectl binaries under test: the machine's and Debian's 1.20, which
// scripts/kubectl.sh fetches. CI sets SKIFF_REQUIRE_KUBECTL so that a
// missing binary fails instead of skipping.
const (
	envKubectl        = "SKIFF_KUBECTL"
	envKubectlOld     = "SKIFF_KUBECTL_OLD"
	envRequireKubectl = "SKIFF_REQUIRE_KUBECTL"
)

// kubectlTimeout bounds one kubectl command.
const kubectlTimeout = 60 * time.Second

// findKubectl finds one kubectl: the path in env, else fallback().
func findKubectl(env string, fallback func() (string, error)) (string, error) {
	path := os.Getenv(env)
	var err error
	if path == "" {
		path, err = fallback()
	}
	if err == nil {
		var info os.FileInfo
		if info, err = os.Stat(path); err == nil && !info.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a file", path)
		}
	}
	if err != nil {
		return "", fmt.Errorf("kubectl not found (%w): run scripts/kubectl.sh or set %s", err, env)
	}
	return path, nil
}

// skipUnlessRequired skips the test for a missing kubectl, or fails it if
// SKIFF_REQUIRE_KUBECTL is set.
func skipUnlessRequired(t *testing.T, err error) {
	t.Helper()
	if os.Getenv(envRequireKubectl) != "" {
		t.Fatalf("%v; %s is set", err, envRequireKubectl)
	}
	t.Skip(err)
}

func machineKubectl() (string, error) { return exec.LookPath("kubectl") }

// oldKubectl is where scripts/kubectl.sh puts kubectl 1.20.
func oldKubectl() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "skiff", "kubectl-1.20", "kubectl"), nil
}

// writeKubeconfig writes a kubeconfig for server (its URL), trusting ca
// (PEM), with a bearer token and a default namespace, and returns its
// path.
func writeKubeconfig(t *testing.T, server string, ca []byte, token, namespace string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["skiff"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: "skiff", Namespace: namespace}
	cfg.CurrentContext = "skiff"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectl runs one kubectl binary with one kubeconfig, in a home of its
// own (kubectl caches discovery and OpenAPI there) and with a temporary
// directory of its own.
type kubectl struct {
	t    *testing.T
	path string
	env  []string
}

func newKubectl(t *testing.T, path, kubeconfig string) *kubectl {
	t.Helper()
	dir := t.TempDir()
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing from the caller's environment but PATH: no KUBECONFIG,
	// KUBECTL_* switches or ~/.kube of theirs.
	return &kubectl{t: t, path: path, env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp, "KUBECONFIG=" + kubeconfig}}
}

// run runs kubectl with args and stdin, and returns its output and exit
// code; it fails the test if kubectl cannot be run or times out.
func (k *kubectl) run(stdin string, args ...string) (stdout, stderr string, code int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.path, args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		k.t.Fatalf("kubectl %s: timed out after %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), kubectlTimeout, &out, &errOut)
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		k.t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), 0
}

// must runs kubectl and fails the test unless it succeeds.
func (k *kubectl) must(stdin string, args ...string) string {
	k.t.Helper()
	out, errOut, code := k.run(stdin, args...)
	if code != 0 {
		k.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// quiet runs kubectl and fails the test unless it succeeds without a word
// on stderr: no warning of kubectl's about what the server served.
func (k *kubectl) quiet(stdin string, args ...string) string {
	k.t.Helper()
	out, errOut, code := k.run(stdin, args...)
	if code != 0 || errOut != "" {
		k.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// getJSON reads one object with kubectl get -o json.
func (k *kubectl) getJSON(into any, resource, name string) {
	k.t.Helper()
	if err := json.Unmarshal([]byte(k.must("", "get", resource, name, "-o", "json")), into); err != nil {
		k.t.Fatalf("kubectl get %s %s -o json: %v", resource, name, err)
	}
}

// resourceVersions returns the resourceVersion of the manifest's objects.
func (k *kubectl) resourceVersions() map[string]string {
	k.t.Helper()
	out := map[string]string{}
	for _, obj := range []string{"deployment/web", "service/web", "configmap/web-config"} {
		out[obj] = k.must("", "get", obj, "-o", "jsonpath={.metadata.resourceVersion}")
	}
	return out
}

// table is one block of kubectl get's table output: rows of cells by
// column name.
type table []map[string]string

// parseTables splits kubectl get output into its tables, one per resource
// type; cells are the whitespace-separated fields under each header.
func parseTables(t *testing.T, out string) map[string]table {
	t.Helper()
	tables := map[string]table{}
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		lines := strings.Split(block, "\n")
		header := strings.Fields(lines[0])
		var rows table
		for _, line := range lines[1:] {
			cells := strings.Fields(line)
			if len(cells) != len(header) {
				t.Fatalf("row %q does not match header %q", line, lines[0])
			}
			row := map[string]string{}
			for i, h := range header {
				row[h] = cells[i]
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 {
			t.Fatalf("table without rows: %q", block)
		}
		kind, _, _ := strings.Cut(rows[0]["NAME"], "/")
		tables[kind] = rows
	}
	return tables
}

// row returns the row named name, failing the test if there is none.
func (tb table) row(t *testing.T, name string) map[string]string {
	t.Helper()
	for _, r := range tb {
		if r["NAME"] == name {
			return r
		}
	}
	t.Fatalf("no row %s in %v", name, tb)
	return nil
}

func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}
