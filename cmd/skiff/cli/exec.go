package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/kubectl/pkg/util/term"
)

// defaultContainerAnnotation names the container kubectl execs into when
// none is given.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

func newExecCmd(e env) *cobra.Command {
	var container string
	var stdin, tty bool
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]",
		Short: "Run a command in a pod's container (pods/exec)",
		Long: `Run a command in a pod's container, as kubectl exec does: over a websocket
(v5.channel.k8s.io) or, with API servers that do not speak it, SPDY. With -i
standard input is passed to the command; with -t the command gets a terminal
(and the local one is made raw while it runs). skiff exits with the command's
exit code.`,
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().StringVarP(&container, "container", "c", "", "the container (default: the one the pod's "+defaultContainerAnnotation+" annotation names, else the first)")
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "pass standard input to the command")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "allocate a terminal")
	cmd.ValidArgsFunction = completeNamesOf(k, "pods")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if len(args) < 2 || cmd.ArgsLenAtDash() != 1 {
			return usageError{cmd: "exec", err: fmt.Errorf("exec needs POD -- COMMAND [ARGS...]")}
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		pod, err := cs.CoreV1().Pods(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
		if err != nil {
			return err
		}
		if container == "" {
			container = defaultContainer(pod)
		}
		t := term.TTY{In: stdinOf(e), Out: cmd.OutOrStdout(), Raw: tty && stdin}
		if tty && (!stdin || !t.IsTerminalIn()) {
			// As kubectl: a remote terminal needs local input from a
			// terminal; without one it would only mangle the output.
			if stdin {
				fmt.Fprintln(e.stderr, "Unable to use a TTY - input is not a terminal or the right kind of file")
			}
			tty, t.Raw = false, false
		}
		req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod.Name).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: container, Command: args[1:], Stdin: stdin, Stdout: true, Stderr: !tty, TTY: tty}, scheme.ParameterCodec)
		cfg, err := k.ToRESTConfig()
		if err != nil {
			return err
		}
		ex, err := newExecutor(cfg, req.URL())
		if err != nil {
			return err
		}
		opts := remotecommand.StreamOptions{Stdout: cmd.OutOrStdout(), Tty: tty}
		if !tty {
			opts.Stderr = e.stderr
		}
		if stdin {
			opts.Stdin = t.In
		}
		if tty {
			if q := t.MonitorSize(t.GetSize()); q != nil {
				opts.TerminalSizeQueue = sizeQueue{q}
			}
		}
		err = t.Safe(func() error { return ex.StreamWithContext(cmd.Context(), opts) })
		if isNotServedUpgrade(err) {
			return fmt.Errorf("the API server does not serve pods/exec for pod %s: %v", pod.Name, err)
		}
		return err
	})
	return cmd
}

// defaultContainer is the container kubectl picks: the one the pod's
// annotation names, else the first.
func defaultContainer(p *corev1.Pod) string {
	if name := p.Annotations[defaultContainerAnnotation]; name != "" {
		return name
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Name
	}
	return ""
}

// sizeQueue hands kubectl's terminal size queue to client-go.
type sizeQueue struct{ q term.TerminalSizeQueue }

func (s sizeQueue) Next() *remotecommand.TerminalSize {
	sz := s.q.Next()
	if sz == nil {
		return nil
	}
	return &remotecommand.TerminalSize{Width: sz.Width, Height: sz.Height}
}

// exitCodeOf returns the remote command's exit code when err reports one.
func exitCodeOf(err error) (int, bool) {
	var exit utilexec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		return exit.ExitStatus(), true
	}
	return 0, false
}

// isNotServedUpgrade reports whether the server refused the stream
// upgrade because it has no such endpoint (an API server older than
// pods/exec).
func isNotServedUpgrade(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return true
	}
	// client-go's SPDY executor reports a refused upgrade (the server's
	// Status) only as text.
	return strings.Contains(err.Error(), "unable to upgrade streaming request") ||
		strings.Contains(err.Error(), "the server could not find the requested resource")
}

// newExecutor prefers the WebSocket protocol and falls back to SPDY, as
// kubectl does.
func newExecutor(rc *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(rc, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(rc, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, httpstream.IsUpgradeFailure)
}
