package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons, as Kubernetes and kubectl rollout status know them.
const (
	ReasonNewRSCreated      = "NewReplicaSetCreated"
	ReasonRSUpdated         = "ReplicaSetUpdated"
	ReasonNewRSAvailable    = "NewReplicaSetAvailable"
	ReasonTimedOut          = "ProgressDeadlineExceeded"
	ReasonPaused            = "DeploymentPaused"
	ReasonResumed           = "DeploymentResumed"
	ReasonMinimumAvailable  = "MinimumReplicasAvailable"
	ReasonMinimumUnavailble = "MinimumReplicasUnavailable"
)

// Counts sums the status of the ReplicaSets into a deployment status
// without conditions: replicas, updated (the new ReplicaSet's), ready,
// available and unavailable replicas, and the observed generation.
func Counts(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) appsv1.DeploymentStatus {
	st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, CollisionCount: d.Status.CollisionCount}
	for _, rs := range all {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, Replicas(d)-st.AvailableReplicas)
	return st
}

// Complete reports whether the rollout to d's template is done: every
// replica updated and available, none old left.
func Complete(d *appsv1.Deployment, st appsv1.DeploymentStatus) bool {
	n := Replicas(d)
	return st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n && st.ObservedGeneration >= d.Generation
}

// CalculateStatus returns d's next status: the counts of Counts, the
// Available condition (at least replicas-maxUnavailable available) and
// the Progressing condition: NewReplicaSetAvailable once complete,
// ReplicaSetUpdated while progress is seen (progressed is true when this
// sync created or scaled a ReplicaSet or pods became available),
// ProgressDeadlineExceeded when no progress was seen for
// progressDeadlineSeconds, DeploymentPaused/Resumed around a pause.
func CalculateStatus(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet, progressed bool, now time.Time) appsv1.DeploymentStatus {
	st := Counts(d, newRS, all)
	st.Conditions = append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...)
	_, unavailable := Fenceposts(d)
	if st.AvailableReplicas >= Replicas(d)-unavailable {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, "Deployment has minimum availability.", now)
	} else {
		setCondition(&st, appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumUnavailble, "Deployment does not have minimum availability.", now)
	}
	prog := getCondition(st.Conditions, appsv1.DeploymentProgressing)
	rsName := ""
	if newRS != nil {
		rsName = newRS.Name
	}
	switch {
	case d.Spec.Paused:
		if prog == nil || prog.Reason != ReasonPaused {
			setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", now)
		}
	case prog != nil && prog.Reason == ReasonPaused:
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", now)
	case Complete(d, st):
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName), now)
	case progressed || prog == nil || (prog.Reason == ReasonNewRSAvailable):
		msg := fmt.Sprintf("ReplicaSet %q is progressing.", rsName)
		if prog != nil && prog.Reason == ReasonNewRSCreated && !progressed {
			msg = prog.Message
		}
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, msg, now)
	case TimedOut(d, prog, now):
		setCondition(&st, appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut,
			fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName), now)
	}
	return st
}

// TimedOut reports whether the Progressing condition last saw progress
// longer than progressDeadlineSeconds before now.
func TimedOut(d *appsv1.Deployment, prog *appsv1.DeploymentCondition, now time.Time) bool {
	if d.Spec.ProgressDeadlineSeconds == nil || prog == nil || prog.Reason == ReasonNewRSAvailable || prog.Reason == ReasonTimedOut {
		return prog != nil && prog.Reason == ReasonTimedOut
	}
	return !prog.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).After(now)
}

func getCondition(cs []appsv1.DeploymentCondition, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// setCondition sets a condition. The transition time moves only when the
// status changes; the update time whenever the reason or message changes,
// or for ReplicaSetUpdated on every progress (it is the progress clock).
func setCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) {
	ts := metav1.NewTime(now.Truncate(time.Second))
	c := getCondition(st.Conditions, t)
	if c == nil {
		st.Conditions = append(st.Conditions, appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: ts, LastTransitionTime: ts})
		return
	}
	if c.Status != status {
		c.LastTransitionTime = ts
	}
	if c.Status != status || c.Reason != reason || c.Message != msg || (t == appsv1.DeploymentProgressing && reason == ReasonRSUpdated) {
		c.LastUpdateTime = ts
	}
	c.Status, c.Reason, c.Message = status, reason, msg
}
