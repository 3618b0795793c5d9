package scheduler

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFindPreemption checks preemption picks a minimal victim set of the
// lowest priorities, never a pod of equal or higher priority, and only on
// nodes where eviction can help.
func TestFindPreemption(t *testing.T) {
	deleting := func(p *v1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
	tests := []struct {
		name    string
		nodes   []*v1.Node
		bound   []*v1.Pod
		pod     *v1.Pod
		node    string   // "" when no preemption helps
		victims []string // sorted
	}{
		{"lowest priorities go, the rest are reprieved", []*v1.Node{node("n", 1000, 4096)},
			[]*v1.Pod{pod("p1", 300, 0, priority(1), onNode("n")), pod("p2", 300, 0, priority(2), onNode("n")), pod("p3", 300, 0, priority(3), onNode("n"))},
			pod("big", 500, 0, priority(10)), "n", []string{"p1", "p2"}},
		{"one big victim beats two small ones", []*v1.Node{node("a", 1000, 4096), node("b", 1000, 4096)},
			[]*v1.Pod{pod("a1", 400, 0, priority(1), onNode("a")), pod("a2", 400, 0, priority(1), onNode("a")), pod("b1", 800, 0, priority(5), onNode("b"))},
			pod("big", 700, 0, priority(10)), "b", []string{"b1"}},
		{"equal priority is never a victim", []*v1.Node{node("n", 1000, 4096)},
			[]*v1.Pod{pod("p1", 900, 0, priority(10), onNode("n"))}, pod("big", 500, 0, priority(10)), "", nil},
		{"higher priority is never a victim", []*v1.Node{node("n", 1000, 4096)},
			[]*v1.Pod{pod("p1", 100, 0, priority(1), onNode("n")), pod("p2", 800, 0, priority(20), onNode("n"))},
			pod("big", 500, 0, priority(10)), "", nil},
		{"tainted nodes are not candidates", []*v1.Node{node("n", 1000, 4096, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule))},
			[]*v1.Pod{pod("p1", 900, 0, priority(1), onNode("n"), tolerate("dedicated", "gpu", v1.TaintEffectNoSchedule))},
			pod("big", 500, 0, priority(10)), "", nil},
		{"pods already leaving are not victims", []*v1.Node{node("n", 1000, 4096)},
			[]*v1.Pod{pod("p1", 900, 0, priority(1), onNode("n"), deleting)}, pod("big", 500, 0, priority(10)), "n", nil},
		{"host port conflict resolved", []*v1.Node{node("n", 1000, 4096)},
			[]*v1.Pod{pod("p1", 0, 0, priority(1), onNode("n"), hostPortOpt(80)), pod("p2", 0, 0, priority(1), onNode("n"))},
			pod("web", 0, 0, priority(10), hostPortOpt(80)), "n", []string{"p1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(tc.nodes, tc.bound)
			pi := NewPodInfo(tc.pod)
			_, err := seeded().PlaceInfo(pi, s)
			var fe *FitError
			if !errors.As(err, &fe) {
				t.Fatalf("the pod should not fit: %v", err)
			}
			plan, ok := FindPreemption(pi, s, fe)
			if ok != (tc.node != "") {
				t.Fatalf("preemption found = %v (%+v), want node %q", ok, plan, tc.node)
			}
			if !ok {
				return
			}
			var names []string
			for _, v := range plan.Victims {
				names = append(names, v.Pod.Name)
				if v.Priority >= pi.Priority {
					t.Errorf("victim %s has priority %d, not below %d", v.Pod.Name, v.Priority, pi.Priority)
				}
			}
			slices.Sort(names)
			if plan.Node != tc.node || !slices.Equal(names, tc.victims) {
				t.Fatalf("plan = %s %v, want %s %v", plan.Node, names, tc.node, tc.victims)
			}
		})
	}
}
