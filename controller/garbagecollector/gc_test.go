package garbagecollector

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		present, absent, waiting int
		want                     Decision
	}{
		{1, 0, 0, Keep},
		{0, 0, 0, Keep},
		{0, 1, 0, DeleteBackground},
		{0, 2, 0, DeleteBackground},
		{1, 1, 0, DropRefs},
		{1, 1, 1, DropRefs},
		{0, 0, 1, DeleteForeground},
		{0, 1, 1, DeleteForeground},
		{1, 0, 1, Keep},
	} {
		t.Run(fmt.Sprintf("p%d-a%d-w%d", tc.present, tc.absent, tc.waiting), func(t *testing.T) {
			if got := Decide(tc.present, tc.absent, tc.waiting); got != tc.want {
				t.Errorf("Decide = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTerminatedToDelete(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, phase corev1.PodPhase, age int, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))},
			Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			now := metav1.NewTime(t0)
			p.DeletionTimestamp = &now
		}
		return p
	}
	pods := []*corev1.Pod{
		mk("running", corev1.PodRunning, 0, false),
		mk("new-done", corev1.PodSucceeded, 5, false),
		mk("old-failed", corev1.PodFailed, 1, false),
		mk("mid-done", corev1.PodSucceeded, 3, false),
		mk("going", corev1.PodFailed, 0, true),
	}
	for _, tc := range []struct {
		threshold int
		want      string
	}{
		{12500, "[]"},
		{3, "[]"},
		{2, "[old-failed]"},
		{0, "[old-failed mid-done new-done]"},
		{-1, "[]"},
	} {
		var names []string
		for _, p := range TerminatedToDelete(pods, tc.threshold) {
			names = append(names, p.Name)
		}
		if got := fmt.Sprint(names); got != tc.want && !(tc.want == "[]" && len(names) == 0) {
			t.Errorf("threshold %d: %v, want %s", tc.threshold, got, tc.want)
		}
	}
}
