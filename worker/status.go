package worker

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podStatusInput is everything the pod status is computed from.
type podStatusInput struct {
	pod        *corev1.Pod
	containers []ContainerStatus
	waiting    map[string]waitReason
	ready      map[string]bool // readiness by container name (probes)
	started    map[string]bool // startup probe passed, by container name
	podIP      string
	hostIP     string
	startTime  *metav1.Time
	now        metav1.Time
}

// computeStatus is the pod status the worker reports: a pure function of
// its input, which keeps the times of conditions and states that did not
// change from the pod's current status, so an unchanged pod compares equal.
func computeStatus(in podStatusInput) corev1.PodStatus {
	pod := in.pod
	latest := latestByName(in.containers)
	prev := previousByName(in.containers)
	old := pod.Status
	st := corev1.PodStatus{
		HostIP:    in.hostIP,
		PodIP:     in.podIP,
		StartTime: in.startTime,
		QOSClass:  old.QOSClass,
	}
	if in.hostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: in.hostIP}}
	}
	if in.podIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: in.podIP}}
	}
	initDone := true
	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(c, latest, prev, in.waiting, true, true)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			initDone = false
		}
	}
	allReady := initDone
	for _, c := range pod.Spec.Containers {
		ready := in.ready[c.Name]
		if c.ReadinessProbe == nil {
			ready = true
		}
		started := in.started[c.Name] || c.StartupProbe == nil
		cs := containerStatus(c, latest, prev, in.waiting, ready && started, started)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			allReady = false
		}
	}
	st.Phase = podPhase(pod, st)
	if isTerminal(st.Phase) {
		allReady = false
	}
	st.Conditions = []corev1.PodCondition{
		condition(old, corev1.PodScheduled, true, "", in.now),
		condition(old, corev1.PodInitialized, initDone, "ContainersNotInitialized", in.now),
		condition(old, corev1.ContainersReady, allReady, "ContainersNotReady", in.now),
		condition(old, corev1.PodReady, allReady, "ContainersNotReady", in.now),
	}
	// Keep times of container states that did not change.
	keepStates(old.ContainerStatuses, st.ContainerStatuses)
	keepStates(old.InitContainerStatuses, st.InitContainerStatuses)
	return st
}

// containerStatus is one container's status from its newest and previous
// attempts.
func containerStatus(c corev1.Container, latest, prev map[string]ContainerStatus, waiting map[string]waitReason, ready, started bool) corev1.ContainerStatus {
	out := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	cur, ok := latest[c.Name]
	if ok {
		out.ContainerID = "containerd://" + cur.ID
		out.ImageID = cur.ImageID
		out.RestartCount = int32(cur.Attempt)
	}
	w, isWaiting := waiting[c.Name]
	switch {
	case isWaiting && (!ok || cur.State != StateRunning):
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.reason, Message: w.message}
		if ok && cur.State == StateExited {
			out.LastTerminationState.Terminated = terminated(cur)
		}
	case !ok || cur.State == StateCreated || cur.State == StateUnknown:
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	case cur.State == StateRunning:
		out.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cur.StartedAt)}
		out.Ready = ready
		out.Started = &started
	case cur.State == StateExited:
		out.State.Terminated = terminated(cur)
	}
	if p, ok := prev[c.Name]; ok && out.LastTerminationState.Terminated == nil {
		out.LastTerminationState.Terminated = terminated(p)
	}
	if out.Started == nil {
		f := false
		out.Started = &f
	}
	return out
}

func terminated(c ContainerStatus) *corev1.ContainerStateTerminated {
	reason := c.Reason
	if reason == "" {
		reason = "Completed"
		if c.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: c.ExitCode, Reason: reason,
		StartedAt: metav1.NewTime(c.StartedAt), FinishedAt: metav1.NewTime(c.FinishedAt),
		ContainerID: "containerd://" + c.ID,
	}
}

// podPhase follows Kubernetes' rules: Pending until every container has
// started once; Succeeded or Failed when all have terminated for good;
// Running otherwise.
func podPhase(pod *corev1.Pod, st corev1.PodStatus) corev1.PodPhase {
	for _, cs := range st.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			return corev1.PodPending
		}
	}
	running, waiting, succeeded, failed := 0, 0, 0, 0
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			succeeded++
		case cs.State.Terminated != nil:
			failed++
		case cs.LastTerminationState.Terminated != nil:
			running++ // restarting
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways:
		return corev1.PodRunning // about to restart
	case failed > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	case failed > 0:
		return corev1.PodRunning // OnFailure restarts them
	case succeeded > 0:
		return corev1.PodSucceeded
	}
	return corev1.PodPending
}

// condition returns a condition, keeping its transition time from old
// when its status did not change.
func condition(old corev1.PodStatus, t corev1.PodConditionType, ok bool, reason string, now metav1.Time) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
	if !ok {
		c.Status, c.Reason = corev1.ConditionFalse, reason
	}
	for _, o := range old.Conditions {
		if o.Type == t && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
			c.LastProbeTime = o.LastProbeTime
		}
	}
	return c
}

func keepStates(old, cur []corev1.ContainerStatus) {
	for i := range cur {
		for _, o := range old {
			if o.Name == cur[i].Name && o.ContainerID == cur[i].ContainerID && o.State.Running != nil && cur[i].State.Running != nil {
				cur[i].State.Running.StartedAt = o.State.Running.StartedAt
			}
		}
	}
}

// writeStatus computes the pod's status and writes it when it differs
// from what the API has.
func (pw *podWorker) writeStatus(ctx context.Context, pod *corev1.Pod, cs []ContainerStatus) error {
	w := pw.m.w
	in := podStatusInput{
		pod: pod, containers: cs, waiting: pw.waiting,
		ready: map[string]bool{}, started: map[string]bool{},
		hostIP: w.node.address, startTime: pw.startTime, now: metav1.Now(),
	}
	if pw.sandbox != nil {
		in.podIP = pw.sandbox.IP
	}
	for name, p := range pw.probes {
		in.ready[name], in.started[name] = p.ready, p.started
	}
	st := computeStatus(in)
	if equality.Semantic.DeepEqual(st, pod.Status) {
		return nil
	}
	upd := pod.DeepCopy()
	upd.Status = st
	out, err := w.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	pw.mu.Lock()
	if pw.latest == nil || pw.latest.ResourceVersion == pod.ResourceVersion {
		pw.latest = out
	}
	pw.mu.Unlock()
	return nil
}
