package testimages_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
)

// started is a running task of a test image.
type started struct {
	task   containerd.Task
	exit   <-chan containerd.ExitStatus
	stdout *bytes.Buffer
}

// run imports p into a fresh daemon's "skiff-test" namespace and starts
// it as container id with env and, when hostNet, the host's network.
func run(t *testing.T, ctx context.Context, d *testcontainerd.Daemon, p testimages.Program, id string, hostNet bool, env ...string) started {
	t.Helper()
	c := d.Client()
	if _, err := ociimage.ImportFile(ctx, c, testimages.Path(t, p), ""); err != nil {
		t.Fatal(err)
	}
	image, err := c.GetImage(ctx, p.Ref())
	if err != nil {
		t.Fatal(err)
	}
	specOpts := []oci.SpecOpts{oci.WithImageConfig(image), oci.WithEnv(env), oci.WithHostname(id)}
	if hostNet {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	ctr, err := c.NewContainer(ctx, id, containerd.WithNewSnapshot(id, image), containerd.WithNewSpec(specOpts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctr.Delete(context.Background(), containerd.WithSnapshotCleanup) })
	var stdout bytes.Buffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Delete(context.Background(), containerd.WithProcessKill) })
	exit, err := task.Wait(ctx) // before Start, so the exit cannot be missed
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return started{task, exit, &stdout}
}

// waitExit returns the task's exit code and, the task deleted, its stdout.
func (s started) waitExit(t *testing.T, ctx context.Context) (uint32, string) {
	t.Helper()
	select {
	case st := <-s.exit:
		if _, err := s.task.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		return st.ExitCode(), s.stdout.String()
	case <-ctx.Done():
		t.Fatal("task did not exit")
		return 0, ""
	}
}

func setup(t *testing.T) (*testcontainerd.Daemon, context.Context) {
	d := testcontainerd.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, err := d.Namespace(ctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	return d, ctx
}

func TestExitAndCrashReportTheirStatus(t *testing.T) {
	d, ctx := setup(t)
	for _, tc := range []struct {
		name     string
		p        testimages.Program
		env      []string
		code     uint32
		inStdout string
	}{
		{"exit 0", testimages.Exit, nil, 0, "exiting with 0"},
		{"exit 3 after a delay", testimages.Exit, []string{"EXIT_CODE=3", "DELAY=50ms"}, 3, "exiting with 3"},
		{"crash", testimages.Crash, []string{"DELAY=100ms"}, 2, "crash: running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := strings.ReplaceAll(tc.name, " ", "-")
			code, out := run(t, ctx, d, tc.p, id, false, tc.env...).waitExit(t, ctx)
			if code != tc.code || !strings.Contains(out, tc.inStdout) {
				t.Errorf("exit %d stdout %q, want %d and %q", code, out, tc.code, tc.inStdout)
			}
		})
	}
}

// TestServeAnswersAndFlips runs serve in the host's network namespace on
// a free loopback port, checks its answers, flips readiness and health,
// and stops it with SIGTERM.
func TestServeAnswersAndFlips(t *testing.T) {
	d, ctx := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := run(t, ctx, d, testimages.Serve, "serve-test", true, fmt.Sprintf("PORT=%d", port), "POD_NAME=web-0", "VERSION=v9")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Poll until it listens, within the context's deadline.
	for code, _ := get("GET", "/healthz"); code != 200; code, _ = get("GET", "/healthz") {
		select {
		case <-ctx.Done():
			t.Fatal("serve never answered /healthz")
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, step := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/", 200, "hostname=serve-test pod=web-0 version=v9\n"},
		{"GET", "/ready", 200, "ready\n"},
		{"POST", "/admin/ready?v=false", 200, "false\n"},
		{"GET", "/ready", 503, "not ready\n"},
		{"POST", "/admin/ready?v=true", 200, "true\n"},
		{"GET", "/ready", 200, "ready\n"},
		{"POST", "/admin/healthy?v=false", 200, "false\n"},
		{"GET", "/healthz", 500, "unhealthy\n"},
		{"POST", "/admin/healthy?v=maybe", 400, "v must be true or false\n"},
	} {
		if code, body := get(step.method, step.path); code != step.code || body != step.body {
			t.Errorf("%s %s = %d %q, want %d %q", step.method, step.path, code, body, step.code, step.body)
		}
	}
	if err := s.task.Kill(ctx, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.waitExit(t, ctx); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0", code)
	}
}
