package replicaset

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DeletionOrder sorts pods in place so that the pods a scale-down should
// delete first come first, as Kubernetes ranks them: not yet scheduled,
// then Pending before Unknown before Running, then not ready, then ready
// for the shortest time, then most restarted, then newest. Names break the
// remaining ties so the order is total and deterministic.
func DeletionOrder(pods []*corev1.Pod) {
	slices.SortStableFunc(pods, compareForDeletion)
}

// compareForDeletion returns a negative number when a should be deleted
// before b.
func compareForDeletion(a, b *corev1.Pod) int {
	if c := boolFirst(a.Spec.NodeName == "", b.Spec.NodeName == ""); c != 0 {
		return c
	}
	if pa, pb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); pa != pb {
		return pa - pb
	}
	ra, rb := readySince(a), readySince(b)
	if c := boolFirst(ra.IsZero(), rb.IsZero()); c != 0 {
		return c
	}
	if !ra.Equal(rb) {
		// Ready for a shorter time (a later transition) goes first.
		return rb.Compare(ra)
	}
	if r1, r2 := maxRestarts(a), maxRestarts(b); r1 != r2 {
		return int(r2 - r1)
	}
	if c := b.CreationTimestamp.Time.Compare(a.CreationTimestamp.Time); c != 0 {
		return c
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// boolFirst orders true before false.
func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 3
}

// readySince returns when pod became ready, or the zero time if it is not
// ready. A ready pod without a transition time counts as ready since the
// epoch's first second, so it still sorts as ready.
func readySince(pod *corev1.Pod) time.Time {
	c := readyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return time.Time{}
	}
	if c.LastTransitionTime.IsZero() {
		return time.Unix(1, 0)
	}
	return c.LastTransitionTime.Time
}

func maxRestarts(pod *corev1.Pod) int32 {
	var n int32
	for _, s := range pod.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether pod's Ready condition is True.
func IsReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsAvailable reports whether pod has been ready for at least
// minReadySeconds at now.
func IsAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return availableIn(pod, minReadySeconds, now) == 0
}

// availableIn returns how long until pod becomes available (0 if it is),
// or -1 if it is not ready at all.
func availableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	c := readyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return -1
	}
	if minReadySeconds == 0 {
		return 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if !at.After(now) {
		return 0
	}
	return at.Sub(now)
}

// isActive reports whether pod counts toward a ReplicaSet's replicas: not
// finished and not being deleted.
func isActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed && pod.DeletionTimestamp == nil
}
