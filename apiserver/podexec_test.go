package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	"k8s.io/client-go/tools/remotecommand"
	crirc "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
)

// echoExecutor stands in for a worker's container: it prints the command
// and exits with the code its second word names.
type echoExecutor struct{}

func (echoExecutor) ExecInContainer(_ context.Context, _, _, container string, cmd []string, _ io.Reader, out, _ io.WriteCloser, _ bool, _ <-chan crirc.TerminalSize, _ time.Duration) error {
	fmt.Fprintf(out, "%s ran %s", container, strings.Join(cmd, " "))
	if len(cmd) > 1 {
		if code, _ := strconv.Atoi(cmd[1]); code != 0 {
			return utilexec.CodeExitError{Err: errors.New("failed"), Code: code}
		}
	}
	return nil
}

// TestPodExecProxiesToTheNode checks the API server's half of exec against
// a stand-in worker that speaks SPDY with the kubelet's library: the
// request's authorization, its Status errors, what reaches the worker
// (path, kubelet query, no user credentials) and the stream through the
// upgrade-aware proxy. The whole path with a real worker is in package
// worker's TestExecWithClientGo and TestKubectlExec.
func TestPodExecProxiesToTheNode(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	worker := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		crirc.ServeExec(w, r, echoExecutor{}, "", "", strings.Split(r.URL.Path, "/")[4], r.URL.Query()["command"],
			&crirc.Options{Stdout: true}, time.Minute, 10*time.Second, crirc.SupportedStreamingProtocols)
	}))
	t.Cleanup(worker.Close)
	var verbs []string
	srv := apitest.Serve(t, apiserver.Config{
		Store: apitest.NewLocalStore(), Admission: apitest.Admission(),
		NodeTransport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		Authorize: func(_ *http.Request, a apiserver.RequestAttributes) error {
			if a.Subresource == "exec" {
				mu.Lock()
				verbs = append(verbs, a.Verb)
				mu.Unlock()
			}
			return nil
		},
	})
	cfg := &rest.Config{Host: srv.URL, BearerToken: "users-secret"}
	api, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(worker.URL, "https://"))
	p, _ := strconv.Atoi(port)
	n, err := api.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(p)
	if _, err := api.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string, phase corev1.PodPhase, running bool, containers ...string) {
		t.Helper()
		in := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{NodeName: "n1"}}
		for _, c := range containers {
			in.Spec.Containers = append(in.Spec.Containers, corev1.Container{Name: c, Image: "i"})
		}
		out, err := api.CoreV1().Pods("default").Create(ctx, in, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out.Status.Phase = phase
		for _, c := range containers {
			cs := corev1.ContainerStatus{Name: c}
			if running {
				cs.State.Running = &corev1.ContainerStateRunning{}
			} else {
				cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
			}
			out.Status.ContainerStatuses = append(out.Status.ContainerStatuses, cs)
		}
		if _, err := api.CoreV1().Pods("default").UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod("web", corev1.PodRunning, true, "app")
	pod("two", corev1.PodRunning, true, "a", "b")
	pod("crashing", corev1.PodRunning, false, "app")
	pod("done", corev1.PodSucceeded, false, "app")
	pod("pending", corev1.PodPending, false, "app")

	exec := func(name, container string, cmd ...string) (string, error) {
		req := api.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(name).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true}, scheme.ParameterCodec)
		ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out})
		return out.String(), err
	}
	if out, err := exec("web", "", "ls", "0"); err != nil || out != "app ran ls 0" {
		t.Errorf("exec: %q, %v", out, err)
	}
	var exit utilexec.ExitError
	if _, err := exec("two", "b", "false", "4"); !errors.As(err, &exit) || exit.ExitStatus() != 4 {
		t.Errorf("exec of a failing command: %v, want exit code 4", err)
	}
	mu.Lock()
	if len(seen) != 2 || seen[1].URL.Path != "/exec/default/two/b" || seen[1].URL.RawQuery != "command=false&command=4&output=1" ||
		seen[1].Header.Get("Authorization") != "" {
		t.Errorf("the worker saw %d requests, the last %s?%s with Authorization %q; want /exec/default/two/b?command=false&command=4&output=1 without credentials",
			len(seen), seen[len(seen)-1].URL.Path, seen[len(seen)-1].URL.RawQuery, seen[len(seen)-1].Header.Get("Authorization"))
	}
	mu.Unlock()

	// Errors come as Statuses before any upgrade; a GET is authorized as
	// create, like the POST.
	for _, tc := range []struct {
		name, pod, container, method string
		want                         func(error) bool
	}{
		{"missing pod", "nope", "", "POST", apierrors.IsNotFound},
		{"unknown container", "web", "nope", "POST", apierrors.IsBadRequest},
		{"container not named", "two", "", "POST", apierrors.IsBadRequest},
		{"container not running", "crashing", "", "POST", apierrors.IsBadRequest},
		{"completed pod", "done", "", "POST", apierrors.IsBadRequest},
		{"pending pod", "pending", "", "POST", apierrors.IsBadRequest},
		{"no upgrade", "web", "", "GET", apierrors.IsBadRequest},
	} {
		err := api.CoreV1().RESTClient().Verb(tc.method).Resource("pods").Namespace("default").Name(tc.pod).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: tc.container, Command: []string{"ls"}, Stdout: true}, scheme.ParameterCodec).
			Do(ctx).Error()
		if !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, v := range verbs {
		if v != "create" {
			t.Errorf("exec authorized as %q, want create (verbs %v)", v, verbs)
			break
		}
	}
	if len(seen) != 2 {
		t.Errorf("requests refused by the API server reached the worker: %d requests", len(seen))
	}
}
