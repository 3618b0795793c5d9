package containerd

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/worker"
	"github.com/skiffhq/skiff/worker/internal/worktest"
)

// testImage is the image of worker/internal/testapp.
const testImage = worktest.Image

// images builds the test program's image once for this test binary.
var images = worktest.Builder()

// newTestRuntime starts a private containerd, imports the test image into
// the worker's namespace and returns a Runtime with a pod network on cidr.
func newTestRuntime(t *testing.T, cidr string) (*Runtime, *testcontainerd.Daemon) {
	t.Helper()
	d, client := worktest.Containerd(t, images)
	dir := t.TempDir()
	rt, err := New(Options{
		Client: client, DataDir: dir, CNIBinDir: "/usr/lib/cni", CNIConfDir: filepath.Join(dir, "cni"),
		Snapshotter: d.Snapshotter, LogMaxSize: 1 << 20, Bridge: worktest.Bridge(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	if err := rt.SetPodCIDR(cidr); err != nil {
		t.Fatal(err)
	}
	return rt, d
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

func TestRuntimeServesOnPodIPAndStopsGracefully(t *testing.T) {
	worktest.RequireCNI(t)
	// A random /24, so that a bridge a crashed run left cannot clash.
	prefix := fmt.Sprintf("10.251.%d.", 1+mrand.IntN(250))
	rt, _ := newTestRuntime(t, prefix+"0/24")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	sb, err := rt.RunSandbox(ctx, worker.SandboxConfig{PodUID: "uid-serve-1", PodName: "serve", Namespace: "default"})
	if err != nil {
		t.Fatalf("RunSandbox: %v", err)
	}
	t.Cleanup(func() { rt.RemoveSandbox(context.Background(), sb.PodUID) })
	if !strings.HasPrefix(sb.IP, prefix) {
		t.Fatalf("pod IP %q is not in the pod CIDR", sb.IP)
	}
	if _, err := rt.EnsureImage(ctx, testImage, worker.PullNever, nil); err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	logFile := filepath.Join(sb.Dir, "logs", "app", "0.log")
	id, err := rt.CreateContainer(ctx, sb, worker.ContainerConfig{
		Name: "app", Image: testImage, Env: []string{"PORT=8080", "TERM_DELAY=200ms", "LOG_LINES=3"},
		LogPath: logFile, MemoryBytes: 64 << 20, CPUMilli: 500,
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	var body string
	waitFor(t, "HTTP answer on the pod IP", 20*time.Second, func() bool {
		resp, err := http.Get("http://" + sb.IP + ":8080/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if body != "hello from serve" {
		t.Errorf("answer %q, want the pod's hostname", body)
	}
	cs, err := rt.ListContainers(ctx, sb.PodUID)
	if err != nil || len(cs) != 1 || cs[0].State != worker.StateRunning || cs[0].Name != "app" {
		t.Fatalf("ListContainers = %+v, %v; want app running", cs, err)
	}
	// A second copy of the program, run by exec with the container's
	// environment, finds port 8080 taken in the pod's network namespace
	// and exits 2.
	var stderr strings.Builder
	if code, err := rt.Exec(ctx, id, worker.ExecRequest{Cmd: []string{"/app"}, Stdout: io.Discard, Stderr: &stderr}); err != nil || code != 2 {
		t.Errorf("exec = %d, %v (stderr %q); want exit 2 for the port in use", code, err, stderr.String())
	}
	if err := rt.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	cs, _ = rt.ListContainers(ctx, sb.PodUID)
	if len(cs) != 1 || cs[0].State != worker.StateExited || cs[0].ExitCode != 0 {
		t.Fatalf("after a graceful stop: %+v, want exited with 0 (the program exits 0 on SIGTERM)", cs)
	}
	waitFor(t, "log lines", 5*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "got SIGTERM")
	})
	b, _ := os.ReadFile(logFile)
	for _, want := range []string{" stdout F testapp starting\n", " stdout F line 2\n", " stderr F testapp stderr\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log lacks %q:\n%s", want, b)
		}
	}
	if err := rt.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if cs, _ := rt.ListContainers(ctx, ""); len(cs) != 0 {
		t.Errorf("containers left: %+v", cs)
	}
}
