package replicaset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CalculateStatus returns rs's status for its active pods at now: counts
// of all, fully labeled, ready and available (ready for minReadySeconds)
// pods, the observed generation, and a ReplicaFailure condition while
// manageErr says pods could not be created or deleted.
func CalculateStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	for _, p := range pods {
		if hasAll(p.Labels, rs.Spec.Template.Labels) {
			st.FullyLabeledReplicas++
		}
		if IsReady(p) {
			st.ReadyReplicas++
			if IsAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	st.ObservedGeneration = rs.Generation
	var kept []appsv1.ReplicaSetCondition
	for _, c := range st.Conditions {
		if c.Type != appsv1.ReplicaSetReplicaFailure {
			kept = append(kept, c)
		}
	}
	if manageErr != nil {
		reason := "FailedCreate"
		if rs.Spec.Replicas != nil && int32(len(pods)) > *rs.Spec.Replicas {
			reason = "FailedDelete"
		}
		kept = append(kept, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error()})
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Reason == reason {
				// Keep the first transition; only the message may change.
				kept[len(kept)-1].LastTransitionTime = c.LastTransitionTime
			}
		}
	}
	st.Conditions = kept
	return st
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// writeStatus updates rs's status if it differs from what is stored.
func (c *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	if equality.Semantic.DeepEqual(rs.Status, st) {
		return nil
	}
	next := rs.DeepCopy()
	next.Status = st
	if _, err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of replicaset %s: %w", rs.Name, err)
	}
	return nil
}
