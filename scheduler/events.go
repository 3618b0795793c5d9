package scheduler

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Event reasons, kube-scheduler's.
const (
	eventScheduled        = "Scheduled"
	eventFailedScheduling = "FailedScheduling"
	eventPreempted        = "Preempted"
	reasonUnschedulableC  = v1.PodReasonUnschedulable
)

// reportUnschedulable sets PodScheduled=False, reason Unschedulable, with
// the FitError's message on the pod's status and records a
// FailedScheduling event. The status is written only when it changes, so
// a pod retried after back-off does not rewrite it each time. A conflict
// is left alone: the pod changed, and the change re-queues it.
func (s *Scheduler) reportUnschedulable(ctx context.Context, pod *v1.Pod, msg, nominated string) {
	s.recorder.Event(pod, v1.EventTypeWarning, eventFailedScheduling, msg)
	cond := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reasonUnschedulableC, Message: msg}
	if cur := podCondition(pod, v1.PodScheduled); cur != nil && cur.Status == cond.Status && cur.Reason == cond.Reason &&
		cur.Message == cond.Message && pod.Status.NominatedNodeName == nominated {
		return
	}
	p := pod.DeepCopy()
	cond.LastTransitionTime = metav1.NewTime(s.now())
	if cur := podCondition(p, v1.PodScheduled); cur != nil {
		if cur.Status == cond.Status {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		*cur = cond
	} else {
		p.Status.Conditions = append(p.Status.Conditions, cond)
	}
	if nominated != "" {
		p.Status.NominatedNodeName = nominated
	}
	if _, err := s.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		s.log.Debug("pod status not updated", "pod", podKey(pod), "err", err)
	}
}

func podCondition(p *v1.Pod, t v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// noopRecorder drops events when Config has no recorder.
type noopRecorder struct{}

func (noopRecorder) Event(runtime.Object, string, string, string)          {}
func (noopRecorder) Eventf(runtime.Object, string, string, string, ...any) {}
func (noopRecorder) AnnotatedEventf(runtime.Object, map[string]string, string, string, string, ...any) {
}

// scheduledMessage is kube-scheduler's Scheduled event text.
func scheduledMessage(pod *v1.Pod, node string) string {
	return fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
}
