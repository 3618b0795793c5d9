package replicaset

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type podSpec struct {
	name     string
	node     string
	phase    corev1.PodPhase
	readyAt  int // seconds after t0; 0 means not ready
	restarts int32
	created  int // seconds after t0
}

func mkPod(s podSpec) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(s.created) * time.Second))},
		Spec:       corev1.PodSpec{NodeName: s.node},
		Status:     corev1.PodStatus{Phase: s.phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: s.restarts}}},
	}
	if s.readyAt > 0 {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(s.readyAt) * time.Second))}}
	} else {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	}
	return p
}

func TestDeletionOrder(t *testing.T) {
	run := corev1.PodRunning
	for _, tc := range []struct {
		name  string
		pods  []podSpec
		first string // the pod to delete first
	}{
		{"unscheduled before scheduled", []podSpec{
			{name: "bound", node: "n1", phase: corev1.PodPending, created: 9},
			{name: "unbound", phase: corev1.PodPending, created: 1},
		}, "unbound"},
		{"pending before running", []podSpec{
			{name: "running", node: "n", phase: run, readyAt: 5},
			{name: "pending", node: "n", phase: corev1.PodPending},
		}, "pending"},
		{"unknown before running", []podSpec{
			{name: "running", node: "n", phase: run},
			{name: "unknown", node: "n", phase: corev1.PodUnknown},
		}, "unknown"},
		{"not ready before ready", []podSpec{
			{name: "ready", node: "n", phase: run, readyAt: 5, created: 1},
			{name: "unready", node: "n", phase: run, created: 0},
		}, "unready"},
		{"ready for less time first", []podSpec{
			{name: "long", node: "n", phase: run, readyAt: 5},
			{name: "short", node: "n", phase: run, readyAt: 50},
		}, "short"},
		{"more restarts first", []podSpec{
			{name: "calm", node: "n", phase: run, readyAt: 5},
			{name: "flappy", node: "n", phase: run, readyAt: 5, restarts: 3},
		}, "flappy"},
		{"newest first", []podSpec{
			{name: "old", node: "n", phase: run, readyAt: 5, created: 1},
			{name: "new", node: "n", phase: run, readyAt: 5, created: 2},
		}, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, reversed := range []bool{false, true} {
				var pods []*corev1.Pod
				for _, s := range tc.pods {
					pods = append(pods, mkPod(s))
				}
				if reversed {
					pods[0], pods[1] = pods[1], pods[0]
				}
				DeletionOrder(pods)
				if pods[0].Name != tc.first {
					t.Errorf("first = %s, want %s (input reversed: %v)", pods[0].Name, tc.first, reversed)
				}
			}
		})
	}
}

// TestDeletionOrderProperties checks on random pods that the order is a
// total order independent of the input order and that its main promises
// hold: every unscheduled pod precedes every scheduled one, and among
// running scheduled pods every not-ready pod precedes every ready one.
func TestDeletionOrderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	phases := []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodUnknown}
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(30)
		var pods []*corev1.Pod
		for i := 0; i < n; i++ {
			s := podSpec{name: fmt.Sprintf("p%02d", i), phase: phases[r.IntN(3)], restarts: int32(r.IntN(3)), created: r.IntN(5)}
			if r.IntN(2) == 0 {
				s.node = "n"
			}
			if r.IntN(2) == 0 {
				s.readyAt = 1 + r.IntN(5)
			}
			pods = append(pods, mkPod(s))
		}
		a := append([]*corev1.Pod(nil), pods...)
		b := append([]*corev1.Pod(nil), pods...)
		r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		DeletionOrder(a)
		DeletionOrder(b)
		for i := range a {
			if a[i].Name != b[i].Name {
				t.Fatalf("trial %d: order depends on input order at %d: %s vs %s", trial, i, a[i].Name, b[i].Name)
			}
		}
		seenScheduled, seenReadyRunning := false, false
		for _, p := range a {
			if p.Spec.NodeName != "" {
				seenScheduled = true
			} else if seenScheduled {
				t.Fatalf("trial %d: unscheduled %s after a scheduled pod", trial, p.Name)
			}
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				if IsReady(p) {
					seenReadyRunning = true
				} else if seenReadyRunning {
					t.Fatalf("trial %d: not-ready %s after a ready running pod", trial, p.Name)
				}
			}
		}
	}
}

func TestIsAvailable(t *testing.T) {
	p := mkPod(podSpec{name: "p", phase: corev1.PodRunning, readyAt: 10})
	for _, tc := range []struct {
		minReady int32
		at       int
		want     bool
	}{{0, 10, true}, {5, 14, false}, {5, 15, true}, {5, 100, true}} {
		if got := IsAvailable(p, tc.minReady, t0.Add(time.Duration(tc.at)*time.Second)); got != tc.want {
			t.Errorf("minReady %d at +%ds: %v, want %v", tc.minReady, tc.at, got, tc.want)
		}
	}
	if IsAvailable(mkPod(podSpec{name: "u"}), 0, t0) {
		t.Error("a not-ready pod is available")
	}
}
