package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/skiffhq/skiff/api/skiffv1"
)

// execClient runs commands in pods through the API with client-go's
// remotecommand, over one protocol.
type execClient struct {
	cfg *rest.Config
	api kubernetes.Interface
	mk  func(cfg *rest.Config, method string, u *url.URL) (remotecommand.Executor, error)
}

// run execs cmd in pod's container app and returns stdout, stderr and the
// error StreamWithContext returned.
func (x execClient) run(t *testing.T, pod string, cmd []string, stdin string, tty bool, sizes remotecommand.TerminalSizeQueue) (string, string, error) {
	t.Helper()
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	errOut, err := x.stream(t, pod, cmd, in, &out, tty, sizes)
	return out.String(), errOut, err
}

// stream is run with the caller's stdin and stdout.
func (x execClient) stream(t *testing.T, pod string, cmd []string, in io.Reader, out io.Writer, tty bool, sizes remotecommand.TerminalSizeQueue) (string, error) {
	t.Helper()
	req := x.api.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "app", Command: cmd, Stdin: in != nil, Stdout: true, Stderr: !tty, TTY: tty}, scheme.ParameterCodec)
	ex, err := x.mk(x.cfg, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errOut bytes.Buffer
	opts := remotecommand.StreamOptions{Stdin: in, Stdout: out, Tty: tty, TerminalSizeQueue: sizes}
	if !tty {
		opts.Stderr = &errOut
	}
	err = ex.StreamWithContext(ctx, opts)
	if ctx.Err() != nil {
		t.Fatalf("exec %v: timed out", cmd)
	}
	return errOut.String(), err
}

// untilSeen is a stdout that closes seen once marker has been written to
// it, and a stdin that gives data and then ends only once seen is closed
// (or after 10 s): on a terminal the end of input hangs the command up,
// as closing a terminal does, so a test of ^D holds stdin open until the
// command has answered it.
//
// It has no ReadFrom, so that io.Copy writes through Write.
type untilSeen struct {
	mu     sync.Mutex
	out    bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
	data   *strings.Reader
}

func (u *untilSeen) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n, err := u.out.Write(p)
	if strings.Contains(u.out.String(), u.marker) {
		u.once.Do(func() { close(u.seen) })
	}
	return n, err
}

// String returns what has been written.
func (u *untilSeen) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

func (u *untilSeen) Read(p []byte) (int, error) {
	if u.data.Len() > 0 {
		return u.data.Read(p)
	}
	select {
	case <-u.seen:
	case <-time.After(10 * time.Second):
	}
	return 0, io.EOF
}

// twoSizes is a terminal size queue that reports 100x40, then 120x50
// once seen is closed (or after 10 s), then ends.
type twoSizes struct {
	n    int
	seen <-chan struct{}
}

func (s *twoSizes) Next() *remotecommand.TerminalSize {
	s.n++
	switch s.n {
	case 1:
		return &remotecommand.TerminalSize{Width: 100, Height: 40}
	case 2:
		select {
		case <-s.seen:
		case <-time.After(10 * time.Second):
		}
		return &remotecommand.TerminalSize{Width: 120, Height: 50}
	}
	return nil
}

// oneSize is a terminal size queue that reports one size, then ends.
type oneSize struct{ sent bool }

func (s *oneSize) Next() *remotecommand.TerminalSize {
	if s.sent {
		return nil
	}
	s.sent = true
	return &remotecommand.TerminalSize{Width: 100, Height: 40}
}

func TestExecWithClientGo(t *testing.T) {
	e := newEnv(t)
	e.createPod(t, "shell", nil)
	e.waitFor(t, "shell running", 30*time.Second, func() bool { return running(e.pod("shell")) })
	cfg := e.c.RestConfig(1)
	protocols := map[string]func(*rest.Config, string, *url.URL) (remotecommand.Executor, error){
		"websocket v5": func(c *rest.Config, method string, u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(c, method, u.String())
		},
		"spdy": remotecommand.NewSPDYExecutor,
	}
	for name, mk := range protocols {
		t.Run(name, func(t *testing.T) {
			x := execClient{cfg: cfg, api: e.admin, mk: mk}
			out, errOut, err := x.run(t, "shell", []string{"/app", "echo", "hello", "world"}, "", false, nil)
			if err != nil || out != "hello world\n" || errOut != "to stderr\n" {
				t.Errorf("echo: stdout %q, stderr %q, %v; want hello world and to stderr", out, errOut, err)
			}
			_, _, err = x.run(t, "shell", []string{"/app", "exit", "3"}, "", false, nil)
			var exit utilexec.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
				t.Errorf("exit 3: %v, want an exit error with code 3", err)
			}
			out, _, err = x.run(t, "shell", []string{"/app", "cat"}, "line one\nline two\n", false, nil)
			if err != nil || out != "line one\nline two\nEOF\n" {
				t.Errorf("cat: %q, %v; want stdin back, then EOF once stdin ended", out, err)
			}
			out, _, err = x.run(t, "shell", []string{"/app", "tty"}, "", true, &oneSize{})
			if err != nil || out != "terminal 100x40\r\n" {
				t.Errorf("tty: %q, %v; want a 100x40 terminal", out, err)
			}
			// A size change mid-session reaches the command as SIGWINCH.
			win := &untilSeen{marker: "terminal 100x40", seen: make(chan struct{})}
			_, err = x.stream(t, "shell", []string{"/app", "winch"}, nil, win, true, &twoSizes{seen: win.seen})
			if out := win.String(); err != nil || out != "terminal 100x40\r\nresized 120x50\r\n" {
				t.Errorf("resize: %q, %v; want 100x40, then 120x50", out, err)
			}
			// kubectl exec -it: on a terminal the end of input is ^D, which
			// the terminal turns into cat's EOF; the terminal echoes input.
			term := &untilSeen{marker: "EOF", seen: make(chan struct{}), data: strings.NewReader("hello\n\x04")}
			_, err = x.stream(t, "shell", []string{"/app", "cat"}, term, term, true, &oneSize{})
			if out := term.String(); err != nil || !strings.HasPrefix(out, "hello\r\nhello\r\n") || !strings.HasSuffix(out, "EOF\r\n") {
				t.Errorf("tty cat: %q, %v; want hello echoed, hello, and EOF at ^D", out, err)
			}
		})
	}
}

func TestExecErrorsAndAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createPod(t, "shell", nil)
	e.waitFor(t, "shell running", 30*time.Second, func() bool { return running(e.pod("shell")) })
	e.createPod(t, "done", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Command = []string{"/app", "exit", "0"}
	})
	e.waitFor(t, "done succeeded", 30*time.Second, func() bool {
		p := e.pod("done")
		return p != nil && p.Status.Phase == corev1.PodSucceeded
	})
	execReq := func(api kubernetes.Interface, pod, container string) error {
		return api.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(pod).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: container, Command: []string{"/app", "echo"}, Stdout: true}, scheme.ParameterCodec).
			Do(ctx).Error()
	}
	for _, tc := range []struct {
		name, pod, container string
		want                 func(error) bool
	}{
		{"unknown pod", "nope", "app", apierrors.IsNotFound},
		{"unknown container", "shell", "nope", apierrors.IsBadRequest},
		{"completed pod", "done", "app", apierrors.IsBadRequest},
		{"no upgrade", "shell", "app", apierrors.IsBadRequest},
	} {
		if err := execReq(e.admin, tc.pod, tc.container); !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// A node credential may not exec, not even into pods of its own node
	// (registering again adds a credential; the worker's stays good).
	reg := registerNode(t, e, "w1")
	nodeCfg := rest.CopyConfig(e.c.RestConfig(0))
	nodeCfg.BearerToken = reg.Token
	nodeAPI, err := kubernetes.NewForConfig(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	// The credential is good once the server has applied its record.
	e.waitFor(t, "the node credential accepted", 10*time.Second, func() bool {
		_, err := nodeAPI.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
		return err == nil
	})
	if err := execReq(nodeAPI, "shell", "app"); !apierrors.IsForbidden(err) {
		t.Errorf("exec with a node credential: %v, want 403", err)
	}
}

// registerNode trades the cluster token for the credential of node name.
func registerNode(t *testing.T, e *env, name string) skiffv1.RegisterResponse {
	t.Helper()
	req, err := http.NewRequest("POST", e.c.URL(0)+"/skiff/v1/nodes/register", strings.NewReader(`{"node":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.c.Token())
	resp, err := e.c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg skiffv1.RegisterResponse
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil || resp.StatusCode != http.StatusOK || reg.Token == "" {
		t.Fatalf("register %s: %d, %v", name, resp.StatusCode, err)
	}
	return reg
}

// kubectlBinaries finds the kubectl binaries scripts/deps.sh installs: the
// machine's (1.32, websocket first) and Debian's 1.20 (SPDY only). A
// missing one skips its case, or fails it when SKIFF_REQUIRE_KUBECTL or
// SKIFF_REQUIRE_WORKER is set.
func kubectlBinaries() map[string]string {
	out := map[string]string{}
	cur := os.Getenv("SKIFF_KUBECTL")
	if cur == "" {
		cur, _ = exec.LookPath("kubectl")
	}
	out["current"] = cur
	old := os.Getenv("SKIFF_KUBECTL_OLD")
	if old == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			old = filepath.Join(dir, "skiff", "kubectl-1.20", "kubectl")
		}
	}
	out["1.20"] = old
	return out
}

// skiffBinary builds cmd/skiff into a temporary directory: skiff exec is
// tested as users run it. The test binary has compiled nearly all of it
// already, so the build cache makes this a link.
func skiffBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "skiff")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, goTool, "build", "-o", out, "github.com/skiffhq/skiff/cmd/skiff").CombinedOutput(); err != nil {
		t.Fatalf("build skiff: %v\n%s", err, b)
	}
	return out
}

// TestKubectlExec runs kubectl exec (1.32, over websocket v5 and SPDY;
// 1.20, SPDY) and skiff exec against a real worker.
func TestKubectlExec(t *testing.T) {
	e := newEnv(t)
	e.createPod(t, "shell", nil)
	e.waitFor(t, "shell running", 30*time.Second, func() bool { return running(e.pod("shell")) })
	kubeconfig := writeKubeconfig(t, e.c.RestConfig(2))
	clients := kubectlBinaries()
	clients["skiff"] = skiffBinary(t)
	for name, path := range clients {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(path); path == "" || err != nil {
				msg := "kubectl " + name + " not found: run scripts/kubectl.sh"
				if os.Getenv("SKIFF_REQUIRE_KUBECTL") != "" || os.Getenv("SKIFF_REQUIRE_WORKER") == "1" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
			envs := map[string][]string{"default": nil}
			if name == "current" {
				// kubectl 1.32 speaks websocket v5 first; this switch makes
				// it speak SPDY as older ones do.
				envs["spdy"] = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}
			}
			for mode, extra := range envs {
				run := func(stdin string, args ...string) (string, string, int) {
					t.Helper()
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					cmd := exec.CommandContext(ctx, path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
					cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, extra...)
					cmd.Stdin = strings.NewReader(stdin)
					var out, errOut bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &errOut
					err := cmd.Run()
					if ctx.Err() != nil {
						t.Fatalf("kubectl %v timed out", args)
					}
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						return out.String(), errOut.String(), ee.ExitCode()
					}
					if err != nil {
						t.Fatal(err)
					}
					return out.String(), errOut.String(), 0
				}
				if out, errOut, code := run("", "exec", "shell", "--", "/app", "echo", "hi"); code != 0 || out != "hi\n" || errOut != "to stderr\n" {
					t.Errorf("%s: exec echo: %q %q exit %d", mode, out, errOut, code)
				}
				if name == "current" {
					// client-go logs the websocket subprotocol it agreed on at
					// -v=4: v5 by default, none when made to use SPDY.
					_, errOut, code := run("", "-v=4", "exec", "shell", "--", "/app", "echo", "hi")
					if ws := strings.Contains(errOut, "subprotocol is v5.channel.k8s.io"); code != 0 || ws != (mode == "default") {
						t.Errorf("%s: websocket v5 negotiated = %v, exit %d; log:\n%s", mode, ws, code, errOut)
					}
				}
				if _, errOut, code := run("", "exec", "shell", "--", "/app", "exit", "7"); code != 7 {
					t.Errorf("%s: exec exit 7: exit %d (%s)", mode, code, errOut)
				}
				if out, errOut, code := run("abc\n", "exec", "-i", "shell", "--", "/app", "cat"); code != 0 || out != "abc\nEOF\n" {
					t.Errorf("%s: exec -i cat: %q %q exit %d", mode, out, errOut, code)
				}
				if _, errOut, code := run("", "exec", "nope", "--", "/app", "echo"); code == 0 || !strings.Contains(errOut, `pods "nope" not found`) {
					t.Errorf("%s: exec into a missing pod: exit %d, %q", mode, code, errOut)
				}
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig for cfg's server, CA and token.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["skiff"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["skiff"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: "skiff", Namespace: "default"}
	kc.CurrentContext = "skiff"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
