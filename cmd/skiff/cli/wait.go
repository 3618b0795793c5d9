package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	appsv1 "k8s.io/api/apps/v1"
)

// pollInterval is how often waits re-read state. A CLI waiting on a
// rollout polls rather than holding watches on a Deployment and its Pods:
// one GET per second per wait is negligible and survives server failover.
const pollInterval = time.Second

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// progress prints the state of a long operation: on a terminal one line
// rewritten in place, elsewhere a line per change.
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

// update shows msg if it differs from the last one.
func (p *progress) update(msg string) {
	msg = strings.TrimRight(msg, "\n")
	if msg == p.last {
		return
	}
	p.last = msg
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", msg)
		return
	}
	fmt.Fprintln(p.w, msg)
}

// done ends the progress line with msg ("" only ends it).
func (p *progress) done(msg string) {
	msg = strings.TrimRight(msg, "\n")
	if p.tty && msg == "" {
		fmt.Fprint(p.w, "\r\033[K")
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", msg)
		return
	}
	if msg != p.last && msg != "" {
		fmt.Fprintln(p.w, msg)
	}
}

// errRolloutStuck wraps the reason a rollout cannot complete.
var errRolloutStuck = errors.New("rollout cannot complete")

// waitRollout waits until Deployment ns/name has rolled out, as kubectl
// rollout status judges it, showing progress on stdout. It fails early
// with the reason when a pod of the Deployment cannot run (an image that
// cannot be pulled, a crash loop, no node to schedule on) or the
// Deployment exceeded its progress deadline.
func waitRollout(ctx context.Context, k *kube, ns, name string, timeout time.Duration) error {
	dyn, err := k.dynamicClient()
	if err != nil {
		return err
	}
	cs, err := k.clientset()
	if err != nil {
		return err
	}
	viewer := &polymorphichelpers.DeploymentStatusViewer{}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := newProgress(k.e.stdout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		u, err := dyn.Resource(deploymentsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return waitError(ctx, name, timeout, err)
		}
		msg, done, err := viewer.Status(u, 0)
		if err != nil {
			return fmt.Errorf("deployment %q: %w: %v", name, errRolloutStuck, err)
		}
		if done {
			p.done(msg)
			return nil
		}
		p.update(msg)
		if reason := podTrouble(ctx, cs, u); reason != "" {
			p.done("")
			return fmt.Errorf("deployment %q: %w: %s", name, errRolloutStuck, reason)
		}
		select {
		case <-ctx.Done():
			return waitError(ctx, name, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

func waitError(ctx context.Context, name string, timeout time.Duration, err error) error {
	// client-go's rate limiter gives up early on a request that could not
	// finish before the deadline: that too is the timeout.
	deadline, ok := ctx.Deadline()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || ok && time.Until(deadline) < 2*pollInterval {
		return fmt.Errorf("deployment %q has not rolled out after %v", name, timeout)
	}
	return err
}

// podTrouble returns why a pod of Deployment u cannot become ready, or
// "": a container waiting in a state that does not heal by itself, or a
// pod the scheduler could not place.
func podTrouble(ctx context.Context, cs kubernetes.Interface, u *unstructured.Unstructured) string {
	d, err := toDeployment(u)
	if err != nil || d.Spec.Selector == nil {
		return ""
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return ""
	}
	pods, err := cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return ""
	}
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp != nil {
			continue
		}
		if t := troubleOf(&pods.Items[i]); t != "" {
			return t
		}
	}
	return ""
}

// troubleOf returns what keeps pod from running, or "".
func troubleOf(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return fmt.Sprintf("pod %s cannot be scheduled: %s", pod.Name, c.Message)
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, st := range statuses {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ErrImageNeverPull":
			msg := fmt.Sprintf("pod %s: container %s: %s", pod.Name, st.Name, w.Reason)
			if w.Message != "" {
				msg += ": " + w.Message
			}
			return msg
		}
	}
	return ""
}

func toDeployment(u *unstructured.Unstructured) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), d)
	return d, err
}
