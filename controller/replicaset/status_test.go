package replicaset

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCalculateStatus(t *testing.T) {
	three := int32(3)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Generation: 4},
		Spec: appsv1.ReplicaSetSpec{Replicas: &three, MinReadySeconds: 10,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a", "tier": "web"}}}},
	}
	label := func(p *corev1.Pod, full bool) *corev1.Pod {
		p.Labels = map[string]string{"app": "a"}
		if full {
			p.Labels["tier"] = "web"
		}
		return p
	}
	pods := []*corev1.Pod{
		label(mkPod(podSpec{name: "long-ready", phase: corev1.PodRunning, readyAt: 1}), true),
		label(mkPod(podSpec{name: "just-ready", phase: corev1.PodRunning, readyAt: 25}), true),
		label(mkPod(podSpec{name: "unready", phase: corev1.PodPending}), false),
	}
	now := t0.Add(30 * time.Second)
	st := CalculateStatus(rs, pods, nil, now)
	want := appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1, ObservedGeneration: 4}
	if st.Replicas != want.Replicas || st.FullyLabeledReplicas != want.FullyLabeledReplicas || st.ReadyReplicas != want.ReadyReplicas ||
		st.AvailableReplicas != want.AvailableReplicas || st.ObservedGeneration != want.ObservedGeneration || len(st.Conditions) != 0 {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	if st := CalculateStatus(rs, pods, nil, t0.Add(40*time.Second)); st.AvailableReplicas != 2 {
		t.Errorf("after minReadySeconds: %d available, want 2", st.AvailableReplicas)
	}
	failed := CalculateStatus(rs, pods[:1], errors.New("quota"), now)
	if len(failed.Conditions) != 1 || failed.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure || failed.Conditions[0].Reason != "FailedCreate" {
		t.Fatalf("conditions after a failed create: %+v", failed.Conditions)
	}
	rs.Status = failed
	if cleared := CalculateStatus(rs, pods, nil, now); len(cleared.Conditions) != 0 {
		t.Errorf("ReplicaFailure not cleared: %+v", cleared.Conditions)
	}
}
