package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"
)

// Stream timeouts, as the kubelet's defaults: a client has
// streamCreationTimeout to open the streams it asked for, and a session
// with no traffic in either direction for streamIdleTimeout is closed.
const (
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
	streamIdleTimeout     = 4 * time.Hour
)

// execQuery is what /exec/{namespace}/{pod}/{container} asks for, in the
// kubelet's query parameters: command (repeated, in order), and input,
// output, error and tty ("1" or "true" for yes).
type execQuery struct {
	Cmd                        []string
	Stdin, Stdout, Stderr, TTY bool
}

// parseExecQuery parses and checks an exec request's query. With a tty
// there is no separate stderr, as with the kubelet.
func parseExecQuery(q url.Values) (execQuery, error) {
	var e execQuery
	e.Cmd = q["command"]
	if len(e.Cmd) == 0 || e.Cmd[0] == "" {
		return e, errors.New("command: a command is required")
	}
	for _, f := range []struct {
		name string
		to   *bool
	}{{remotecommand.ExecStdinParam, &e.Stdin}, {remotecommand.ExecStdoutParam, &e.Stdout},
		{remotecommand.ExecStderrParam, &e.Stderr}, {remotecommand.ExecTTYParam, &e.TTY}} {
		v := q[f.name]
		if len(v) > 1 {
			return e, fmt.Errorf("%s: given %d times", f.name, len(v))
		}
		if len(v) == 0 {
			continue
		}
		switch strings.ToLower(v[0]) {
		case "1", "true":
			*f.to = true
		case "0", "false", "":
		default:
			return e, fmt.Errorf("%s: %q is not a boolean (1, 0, true or false)", f.name, v[0])
		}
	}
	if e.TTY {
		e.Stderr = false
	}
	if !e.Stdin && !e.Stdout && !e.Stderr {
		return e, errors.New("input, output, error: at least one stream is required")
	}
	return e, nil
}

// exec serves kubectl exec, proxied by an API server: it runs a command in
// a running container of a pod on this node and streams its stdin, stdout
// and stderr, a terminal and its size changes, and its exit code. It
// speaks the websocket protocol v5.channel.k8s.io (kubectl 1.30 and later)
// itself and the SPDY protocols v1 to v4 and the older websocket ones
// (kubectl before 1.30) through the kubelet's library.
func (e *endpoint) exec(rw http.ResponseWriter, r *http.Request) {
	ns, podName, name := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q, err := parseExecQuery(r.URL.Query())
	if err != nil {
		writeStatus(rw, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	uid, ok := e.w.pods.uidOf(ns, podName)
	if !ok {
		writeStatus(rw, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("pod %s/%s is not on this node", ns, podName))
		return
	}
	cs, err := e.w.rt.ListContainers(r.Context(), string(uid))
	if err != nil {
		writeStatus(rw, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, err.Error())
		return
	}
	c, ok := latestByName(cs)[name]
	if !ok || c.State != StateRunning {
		writeStatus(rw, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("container %s of pod %s/%s is not running", name, ns, podName))
		return
	}
	e.w.log.Debug("exec", "pod", ns+"/"+podName, "container", name, "command", q.Cmd, "tty", q.TTY)
	ex := &containerExecutor{rt: e.w.rt, id: c.ID}
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		serveExecV5(rw, r, ex, q)
		return
	}
	remotecommand.ServeExec(rw, r, ex, podName, string(uid), name, q.Cmd,
		&remotecommand.Options{Stdin: q.Stdin, Stdout: q.Stdout, Stderr: q.Stderr, TTY: q.TTY},
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// containerExecutor runs commands in one container for the kubelet's
// streaming library.
type containerExecutor struct {
	rt Runtime
	id string
}

// ExecInContainer implements remotecommand.Executor: a non-zero exit is a
// utilexec.ExitError, which the library reports as the exit code.
func (x *containerExecutor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	// A stream the client did not ask for is a nil interface here.
	req := ExecRequest{Cmd: cmd, TTY: tty, Stdin: in}
	if out != nil {
		req.Stdout = out
	}
	if errOut != nil && !tty {
		req.Stderr = errOut
	}
	if tty && resize != nil {
		sizes := make(chan TermSize)
		req.Resize = sizes
		ctx2, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for {
				select {
				case sz, ok := <-resize:
					if !ok {
						return
					}
					select {
					case sizes <- TermSize{Width: sz.Width, Height: sz.Height}:
					case <-ctx2.Done():
						return
					}
				case <-ctx2.Done():
					return
				}
			}
		}()
	}
	return x.run(ctx, req)
}

func (x *containerExecutor) run(ctx context.Context, req ExecRequest) error {
	code, err := x.rt.Exec(ctx, x.id, req)
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// writeStatus answers a request that was not upgraded with a Kubernetes
// Status, which the API server passes on to the client unchanged.
func writeStatus(rw http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	json.NewEncoder(rw).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg,
	})
}
