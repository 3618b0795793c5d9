package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podWorker syncs one pod. Its loop goroutine owns every field below mu's
// group; update, markGone and poke may be called from anywhere.
type podWorker struct {
	m   *podManager
	uid types.UID

	mu     sync.Mutex
	latest *corev1.Pod
	gone   bool
	wake   chan struct{} // capacity 1

	// Owned by the loop goroutine.
	backoffs  map[string]backoff    // restart back-off by container name
	pulls     map[string]pullState  // image pull back-off by container name
	waiting   map[string]waitReason // why a container is not running
	probes    map[string]*probeState
	sandbox   *Sandbox
	startTime *metav1.Time
}

// pullState is a container's image pull back-off.
type pullState struct {
	b     backoff
	retry time.Time
}

// waitReason is a waiting container's state reason and message.
type waitReason struct{ reason, message string }

func newPodWorker(m *podManager, p *corev1.Pod) *podWorker {
	return &podWorker{
		m: m, uid: p.UID, wake: make(chan struct{}, 1),
		backoffs: map[string]backoff{}, pulls: map[string]pullState{},
		waiting: map[string]waitReason{}, probes: map[string]*probeState{},
	}
}

func (pw *podWorker) update(p *corev1.Pod) {
	pw.mu.Lock()
	pw.latest = p
	pw.mu.Unlock()
	pw.poke()
}

func (pw *podWorker) markGone() {
	pw.mu.Lock()
	pw.gone = true
	pw.mu.Unlock()
	pw.poke()
}

func (pw *podWorker) poke() {
	select {
	case pw.wake <- struct{}{}:
	default:
	}
}

// loop syncs the pod whenever it changes, a container exits, a timer the
// last sync asked for fires, or housekeeping pokes it; it returns when the
// pod is gone and cleaned up, or ctx ends (leaving containers running for
// the next worker to adopt).
func (pw *podWorker) loop(ctx context.Context) {
	log := pw.m.w.log
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pw.wake:
		case <-timer.C:
		}
		pw.mu.Lock()
		pod, gone := pw.latest, pw.gone
		pw.mu.Unlock()
		var next time.Duration
		var done bool
		var err error
		if gone {
			done, err = pw.teardown(ctx, pod, 0), nil
		} else {
			next, done, err = pw.sync(ctx, pod)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("pod sync failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			if next <= 0 || next > 2*time.Second {
				next = 2 * time.Second
			}
		}
		if done {
			return
		}
		if next <= 0 || next > housekeeping {
			next = housekeeping
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// teardown stops every container of the pod (graceful, with the pod's
// grace period) and removes them and the sandbox. It reports whether all
// is gone.
func (pw *podWorker) teardown(ctx context.Context, pod *corev1.Pod, grace time.Duration) bool {
	rt := pw.m.w.rt
	cs, err := rt.ListContainers(ctx, string(pw.uid))
	if err != nil {
		return false
	}
	pw.killAll(ctx, pod, cs, grace, "pod deleted")
	ok := true
	for _, c := range cs {
		if err := rt.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
			ok = false
		}
	}
	if err := rt.RemoveSandbox(ctx, string(pw.uid)); err != nil {
		ok = false
	}
	return ok
}

// killAll stops the running containers in parallel: each gets its preStop
// hook and the grace period, then SIGKILL.
func (pw *podWorker) killAll(ctx context.Context, pod *corev1.Pod, cs []ContainerStatus, grace time.Duration, why string) {
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.State != StateRunning {
			continue
		}
		wg.Go(func() { pw.kill(ctx, pod, c, grace, why) })
	}
	wg.Wait()
}

// kill runs the container's preStop hook (within the grace period), then
// stops it with what is left of the grace period.
func (pw *podWorker) kill(ctx context.Context, pod *corev1.Pod, c ContainerStatus, grace time.Duration, why string) {
	w := pw.m.w
	deadline := time.Now().Add(grace)
	if pod != nil {
		if spec := findContainer(pod, c.Name); spec != nil && spec.Lifecycle != nil && spec.Lifecycle.PreStop != nil && grace > 0 {
			hctx, cancel := context.WithDeadline(ctx, deadline)
			if err := pw.runHandler(hctx, pod, c, spec.Lifecycle.PreStop); err != nil {
				pw.event(pod, corev1.EventTypeWarning, "FailedPreStopHook", "preStop hook of "+c.Name+" failed: "+err.Error())
			}
			cancel()
		}
		pw.event(pod, corev1.EventTypeNormal, "Killing", "Stopping container "+c.Name+": "+why)
	}
	if err := w.rt.StopContainer(ctx, c.ID, max(0, time.Until(deadline))); err != nil {
		w.log.Warn("stop container", "id", c.ID, "err", err)
	}
}

// confirmDeletion stops the pod's containers within its grace period and
// then deletes the pod object with grace 0, which is how a kubelet tells
// the API server that the pod is really gone.
func (pw *podWorker) confirmDeletion(ctx context.Context, pod *corev1.Pod) error {
	grace := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if !pw.teardown(ctx, pod, grace) {
		return errors.New("containers of the deleted pod are not all gone yet")
	}
	zero := int64(0)
	err := pw.m.w.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}
