package deployment

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestCalculateStatus(t *testing.T) {
	deadline := int32(60)
	base := func() *appsv1.Deployment {
		d := deploy(4, intstr.FromInt32(1), intstr.FromInt32(1))
		d.Generation = 2
		d.Spec.ProgressDeadlineSeconds = &deadline
		return d
	}
	progressing := func(reason string, at time.Time) []appsv1.DeploymentCondition {
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason,
			LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}}
	}
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name          string
		edit          func(d *appsv1.Deployment)
		newRS         *appsv1.ReplicaSet
		olds          []*appsv1.ReplicaSet
		progressed    bool
		wantReason    string
		wantStatus    corev1.ConditionStatus
		wantAvailable corev1.ConditionStatus
	}{
		{"complete", nil, rs("new", 4, 4, 4, 2), nil, false, ReasonNewRSAvailable, corev1.ConditionTrue, corev1.ConditionTrue},
		{"old pods left", nil, rs("new", 4, 4, 4, 2), []*appsv1.ReplicaSet{rs("old", 0, 1, 1, 1)}, true, ReasonRSUpdated, corev1.ConditionTrue, corev1.ConditionTrue},
		{"stalled past the deadline", func(d *appsv1.Deployment) {
			d.Status.Conditions = progressing(ReasonRSUpdated, now.Add(-2*time.Minute))
		},
			rs("new", 4, 4, 1, 2), nil, false, ReasonTimedOut, corev1.ConditionFalse, corev1.ConditionFalse},
		{"stalled within the deadline", func(d *appsv1.Deployment) {
			d.Status.Conditions = progressing(ReasonRSUpdated, now.Add(-30*time.Second))
		},
			rs("new", 4, 4, 3, 2), nil, false, ReasonRSUpdated, corev1.ConditionTrue, corev1.ConditionTrue},
		{"paused", func(d *appsv1.Deployment) { d.Spec.Paused = true }, rs("new", 4, 4, 1, 2), nil, false, ReasonPaused, corev1.ConditionUnknown, corev1.ConditionFalse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			if tc.edit != nil {
				tc.edit(d)
			}
			all := append([]*appsv1.ReplicaSet{tc.newRS}, tc.olds...)
			st := CalculateStatus(d, tc.newRS, all, tc.progressed, now)
			prog := getCondition(st.Conditions, appsv1.DeploymentProgressing)
			avail := getCondition(st.Conditions, appsv1.DeploymentAvailable)
			if prog == nil || prog.Reason != tc.wantReason || prog.Status != tc.wantStatus {
				t.Errorf("Progressing = %+v, want %s/%s", prog, tc.wantStatus, tc.wantReason)
			}
			if avail == nil || avail.Status != tc.wantAvailable {
				t.Errorf("Available = %+v, want %s", avail, tc.wantAvailable)
			}
			if st.ObservedGeneration != 2 || st.UnavailableReplicas != max(0, 4-st.AvailableReplicas) {
				t.Errorf("counts %+v", st)
			}
		})
	}
}
