package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sync makes one pass over the pod: it starts what should run, restarts
// what exited (with back-off), runs due probes, kills what failed its
// liveness probe, and writes the status when it changed. It returns when
// it wants to run again, and done once the pod is finished with.
func (pw *podWorker) sync(ctx context.Context, pod *corev1.Pod) (next time.Duration, done bool, err error) {
	w := pw.m.w
	if pod.DeletionTimestamp != nil {
		if err := pw.confirmDeletion(ctx, pod); err != nil {
			return time.Second, false, err
		}
		return 0, true, nil
	}
	if pw.startTime == nil {
		pw.startTime = pod.Status.StartTime
		if pw.startTime == nil {
			now := metav1.Now()
			pw.startTime = &now
		}
	}
	cs, err := w.rt.ListContainers(ctx, string(pod.UID))
	if err != nil {
		return 0, false, err
	}
	latest := latestByName(cs)
	// Keep each container's newest attempt and the one before it (its
	// lastState); older ones are removed, as kubelet's container GC does.
	for _, c := range cs {
		if c.State == StateExited && c.Attempt < latest[c.Name].Attempt-1 {
			if err := w.rt.RemoveContainer(ctx, c.ID); err != nil {
				w.log.Debug("remove old container", "id", c.ID, "err", err)
			}
		}
	}
	now := time.Now()
	next = housekeeping
	wakeAt := func(t time.Time) {
		if d := time.Until(t); d < next {
			next = max(d, 10*time.Millisecond)
		}
	}

	if isTerminal(pod.Status.Phase) {
		pw.killAll(ctx, pod, cs, 0, "pod finished")
		return next, false, nil
	}
	if pw.sandbox == nil {
		cfg := sandboxConfig(pod)
		err := w.sandboxDNS(pod, &cfg)
		var sb Sandbox
		if err == nil {
			sb, err = w.rt.RunSandbox(ctx, cfg)
		}
		if err != nil {
			for _, c := range pod.Spec.Containers {
				pw.waiting[c.Name] = waitReason{"ContainerCreating", err.Error()}
			}
			pw.writeStatus(ctx, pod, cs)
			return 2 * time.Second, false, fmt.Errorf("sandbox: %w", err)
		}
		pw.sandbox = &sb
	}

	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur, ok := latest[c.Name]
		if ok && cur.State == StateExited && cur.ExitCode == 0 {
			continue
		}
		initDone = false
		if ok && cur.State == StateExited && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			break // the pod has failed; status says so
		}
		if !ok || cur.State == StateExited {
			if at := pw.startOrBackoff(ctx, pod, c, cur, ok, now); !at.IsZero() {
				wakeAt(at)
			}
		}
		break
	}
	if initDone {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			cur, ok := latest[c.Name]
			switch {
			case ok && cur.State == StateRunning:
				delete(pw.waiting, c.Name)
				if at := pw.probe(ctx, pod, c, cur, now); !at.IsZero() {
					wakeAt(at)
				}
			case ok && cur.State == StateCreated:
				if err := w.rt.StartContainer(ctx, cur.ID); err != nil {
					pw.waiting[c.Name] = waitReason{"RunContainerError", err.Error()}
				}
			case !ok || shouldRestart(pod.Spec.RestartPolicy, cur):
				if at := pw.startOrBackoff(ctx, pod, c, cur, ok, now); !at.IsZero() {
					wakeAt(at)
				}
			}
		}
	}
	if cs, err = w.rt.ListContainers(ctx, string(pod.UID)); err != nil {
		return next, false, err
	}
	if err := pw.writeStatus(ctx, pod, cs); err != nil {
		return min(next, time.Second), false, err
	}
	return next, false, nil
}

// startOrBackoff starts the container (its first run, or a restart once
// its back-off has passed). It returns when to try again, or zero.
func (pw *podWorker) startOrBackoff(ctx context.Context, pod *corev1.Pod, c *corev1.Container, prev ContainerStatus, restarted bool, now time.Time) time.Time {
	attempt := 0
	if restarted {
		attempt = prev.Attempt + 1
		at, after := pw.backoffs[c.Name].next(prev.StartedAt, prev.FinishedAt)
		if now.Before(at) {
			pw.waiting[c.Name] = waitReason{"CrashLoopBackOff",
				fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", pw.backoffs[c.Name].delay, c.Name, pod.Name, pod.Namespace, pod.UID)}
			return at
		}
		pw.backoffs[c.Name] = after
	}
	if ps, ok := pw.pulls[c.Name]; ok && now.Before(ps.retry) {
		pw.waiting[c.Name] = waitReason{"ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image)}
		return ps.retry
	}
	if err := pw.startContainer(ctx, pod, c, attempt); err != nil {
		if errors.Is(err, ErrImagePull) {
			ps := pw.pulls[c.Name]
			at, after := ps.b.next(now, now)
			ps.b, ps.retry = after, at
			if ps.retry.Equal(now) {
				ps.retry = now.Add(after.delay)
			}
			pw.pulls[c.Name] = ps
			pw.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
			pw.event(pod, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
			return ps.retry
		}
		pw.waiting[c.Name] = waitReason{"CreateContainerError", err.Error()}
		pw.event(pod, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return now.Add(2 * time.Second)
	}
	delete(pw.pulls, c.Name)
	delete(pw.waiting, c.Name)
	delete(pw.probes, c.Name) // a new container starts its probes afresh
	return time.Time{}
}

// startContainer pulls the image, creates the container and starts it.
func (pw *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) error {
	w := pw.m.w
	auth, err := pw.pullAuth(ctx, pod)
	if err != nil {
		return err
	}
	policy := PullPolicy(c.ImagePullPolicy)
	if policy == "" {
		policy = PullIfNotPresent
	}
	if _, err := w.rt.EnsureImage(ctx, c.Image, policy, auth); err != nil {
		return err
	}
	pw.event(pod, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q present on machine", c.Image))
	cfg, err := pw.containerConfig(ctx, pod, c, attempt)
	if err != nil {
		return err
	}
	id, err := w.rt.CreateContainer(ctx, *pw.sandbox, cfg)
	if err != nil {
		return err
	}
	pw.event(pod, corev1.EventTypeNormal, "Created", "Created container "+c.Name)
	if err := w.rt.StartContainer(ctx, id); err != nil {
		return err
	}
	pw.event(pod, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	return nil
}

// logPath is where a container's attempt writes its log, in the CRI
// layout: <pod dir>/logs/<container>/<attempt>.log.
func logPath(sb Sandbox, name string, attempt int) string {
	return filepath.Join(sb.Dir, "logs", name, fmt.Sprintf("%d.log", attempt))
}

// shouldRestart applies the restart policy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, c ContainerStatus) bool {
	if c.State != StateExited {
		return false
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.ExitCode != 0
	}
	return true
}

func isTerminal(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// latestByName returns each container name's newest attempt.
func latestByName(cs []ContainerStatus) map[string]ContainerStatus {
	out := map[string]ContainerStatus{}
	for _, c := range cs {
		if cur, ok := out[c.Name]; !ok || c.Attempt > cur.Attempt {
			out[c.Name] = c
		}
	}
	return out
}

// previousByName returns each name's attempt before the newest.
func previousByName(cs []ContainerStatus) map[string]ContainerStatus {
	latest := latestByName(cs)
	out := map[string]ContainerStatus{}
	for _, c := range cs {
		if c.Attempt >= latest[c.Name].Attempt {
			continue
		}
		if cur, ok := out[c.Name]; !ok || c.Attempt > cur.Attempt {
			out[c.Name] = c
		}
	}
	return out
}

func sandboxConfig(pod *corev1.Pod) SandboxConfig {
	cfg := SandboxConfig{PodUID: string(pod.UID), PodName: pod.Name, Namespace: pod.Namespace}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := "tcp"
			if p.Protocol == corev1.ProtocolUDP {
				proto = "udp"
			}
			cfg.HostPorts = append(cfg.HostPorts, HostPort{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP})
		}
	}
	return cfg
}
