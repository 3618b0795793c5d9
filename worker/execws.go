package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"
)

// v5Protocol is the websocket subprotocol kubectl 1.30 and later speak
// first. It is v4 (a JSON Status with the exit code on the error channel)
// plus a close signal that ends one stream, which lets the client end
// stdin while reading stdout. The kubelet's library stops at v4 (in
// Kubernetes the API server translates v5 to SPDY); the worker speaks v5
// itself, so the API server only has to pass upgraded connections on.
const v5Protocol = remotecommand.StreamProtocolV5Name

// The channels of the remote command protocols.
const (
	chanStdin = iota
	chanStdout
	chanStderr
	chanError
	chanResize
)

// serveExecV5 upgrades the request to a v5.channel.k8s.io websocket and
// runs the command over it. The websocket library answers a failed
// handshake itself.
func serveExecV5(rw http.ResponseWriter, r *http.Request, x *containerExecutor, q execQuery) {
	use := func(yes bool, t wsstream.ChannelType) wsstream.ChannelType {
		if yes {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := make([]wsstream.ChannelType, 5)
	channels[chanStdin] = use(q.Stdin, wsstream.ReadChannel)
	channels[chanStdout] = use(q.Stdout, wsstream.WriteChannel)
	channels[chanStderr] = use(q.Stderr, wsstream.WriteChannel)
	channels[chanError] = wsstream.WriteChannel
	channels[chanResize] = use(q.TTY, wsstream.ReadChannel)
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		v5Protocol: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(streamIdleTimeout)
	_, streams, err := conn.Open(rw, r)
	if err != nil {
		return
	}
	defer conn.Close()

	req := ExecRequest{Cmd: q.Cmd, TTY: q.TTY}
	if q.Stdin {
		req.Stdin = streams[chanStdin]
	}
	if q.Stdout {
		req.Stdout = streams[chanStdout]
	}
	if q.Stderr {
		req.Stderr = streams[chanStderr]
	}
	if q.TTY {
		sizes, done := make(chan TermSize), make(chan struct{})
		defer close(done)
		req.Resize = sizes
		go readResizes(streams[chanResize], sizes, done)
	}
	err = x.run(r.Context(), req)
	streams[chanError].Write(execStatus(err))
}

// readResizes decodes the terminal sizes the client sends, one JSON
// object each ({"Width":80,"Height":24}), until the stream ends or done
// is closed; it then closes sizes. A size that cannot be decoded ends the
// stream, as the kubelet does.
func readResizes(in io.Reader, sizes chan<- TermSize, done <-chan struct{}) {
	defer close(sizes)
	d := json.NewDecoder(in)
	for {
		var sz TermSize
		if err := d.Decode(&sz); err != nil {
			return
		}
		select {
		case sizes <- sz:
		case <-done:
			return
		}
	}
}

// execStatus is the v4/v5 error channel's message for a command's end: a
// Status that is Success, or Failure with reason NonZeroExitCode and the
// code as the cause ExitCode, or Failure with the error.
func execStatus(err error) []byte {
	st := metav1.Status{Status: metav1.StatusSuccess}
	var exit utilexec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		st = metav1.Status{
			Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", err),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: fmt.Sprint(exit.ExitStatus())}}},
		}
	default:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Code: http.StatusInternalServerError,
			Message: fmt.Sprintf("error executing command in container: %v", err)}
	}
	b, _ := json.Marshal(st)
	return b
}
