package scheduler

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestScorers checks which node each scorer prefers, and that it stays in
// 0..maxScore.
func TestScorers(t *testing.T) {
	const zone = v1.LabelTopologyZone
	za, zb := withLabels(zone, "a"), withLabels(zone, "b")
	tests := []struct {
		name   string
		score  func(*cycle, []*NodeInfo, []int64) bool
		nodes  []*v1.Node
		bound  []*v1.Pod
		pod    *v1.Pod
		best   string // the node with the strictly highest score
		silent bool   // the scorer has no opinion
	}{
		{"least allocated prefers the emptier node", scoreLeastAllocated,
			[]*v1.Node{node("busy", 1000, 1024), node("idle", 1000, 1024)},
			[]*v1.Pod{pod("e", 500, 512, onNode("busy"))}, pod("p", 100, 100), "idle", false},
		{"least allocated counts best-effort pods", scoreLeastAllocated,
			[]*v1.Node{node("busy", 1000, 1024), node("idle", 1000, 1024)},
			[]*v1.Pod{pod("e", 0, 0, onNode("busy"))}, pod("p", 0, 0), "idle", false},
		{"balanced prefers even use", scoreBalanced,
			[]*v1.Node{node("cpuheavy", 1000, 1000), node("even", 1000, 1000)},
			[]*v1.Pod{pod("e", 800, 100, onNode("cpuheavy")), pod("f", 400, 400, onNode("even"))}, pod("p", 100, 100), "even", false},
		{"preferred node affinity", scoreNodeAffinity,
			[]*v1.Node{node("hdd", 1000, 1024, withLabels("disk", "hdd")), node("ssd", 1000, 1024, withLabels("disk", "ssd"))},
			nil, pod("p", 0, 0, func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
					{Weight: 10, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}}
			}), "ssd", false},
		{"no preferred node affinity, no opinion", scoreNodeAffinity,
			[]*v1.Node{node("a", 1000, 1024), node("b", 1000, 1024)}, nil, pod("p", 0, 0), "", true},
		{"PreferNoSchedule taint avoided", scorePreferNoSchedule,
			[]*v1.Node{node("tainted", 1000, 1024, withTaint("k", "v", v1.TaintEffectPreferNoSchedule)), node("clean", 1000, 1024)},
			nil, pod("p", 0, 0), "clean", false},
		{"spread ScheduleAnyway prefers the emptier zone", scoreSpread,
			[]*v1.Node{node("a1", 1000, 1024, za), node("b1", 1000, 1024, zb)},
			[]*v1.Pod{pod("e", 0, 0, onNode("a1"), podLabels("app", "w"))},
			pod("p", 0, 0, podLabels("app", "w"), spread(zone, 1, v1.ScheduleAnyway, "app", "w")), "b1", false},
		{"default spreading of a workload across nodes", scoreSpread,
			[]*v1.Node{node("a1", 1000, 1024, za), node("a2", 1000, 1024, za)},
			[]*v1.Pod{pod("e", 0, 0, onNode("a1"), ownedBy("rs1")), pod("f", 0, 0, onNode("a2"), ownedBy("other"))},
			pod("p", 0, 0, ownedBy("rs1")), "a2", false},
		{"default spreading of a workload across zones", scoreSpread,
			[]*v1.Node{node("a1", 1000, 1024, za), node("a2", 1000, 1024, za), node("b1", 1000, 1024, zb)},
			[]*v1.Pod{pod("e", 0, 0, onNode("a1"), ownedBy("rs1"))},
			pod("p", 0, 0, ownedBy("rs1")), "b1", false},
		{"no workload, no spreading", scoreSpread,
			[]*v1.Node{node("a1", 1000, 1024), node("a2", 1000, 1024)}, nil, pod("p", 0, 0), "", true},
		{"preferred pod affinity", scoreInterPodAffinity,
			[]*v1.Node{node("a1", 1000, 1024, za), node("b1", 1000, 1024, zb)},
			[]*v1.Pod{pod("e", 0, 0, onNode("b1"), podLabels("app", "cache"))},
			pod("p", 0, 0, func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{
					{Weight: 50, PodAffinityTerm: v1.PodAffinityTerm{LabelSelector: labelSelector("app", "cache"), TopologyKey: zone}}}}}
			}), "b1", false},
		{"preferred pod anti-affinity", scoreInterPodAffinity,
			[]*v1.Node{node("a1", 1000, 1024, za), node("b1", 1000, 1024, zb)},
			[]*v1.Pod{pod("e", 0, 0, onNode("b1"), podLabels("app", "web"))},
			pod("p", 0, 0, func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{
					{Weight: 50, PodAffinityTerm: v1.PodAffinityTerm{LabelSelector: labelSelector("app", "web"), TopologyKey: v1.LabelHostname}}}}}
			}), "a1", false},
		{"image locality", scoreImageLocality,
			[]*v1.Node{node("cold", 1000, 1024), node("warm", 1000, 1024, withImage("app:1", 500<<20))},
			nil, pod("p", 0, 0), "warm", false},
		{"image locality normalizes the tag", scoreImageLocality,
			[]*v1.Node{node("cold", 1000, 1024), node("warm", 1000, 1024, withImage("registry.local:5000/tool:latest", 500<<20))},
			nil, pod("p", 0, 0, func(p *v1.Pod) { p.Spec.Containers[0].Image = "registry.local:5000/tool" }), "warm", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(tc.nodes, tc.bound)
			c := newCycle(NewPodInfo(tc.pod), s)
			var nodes []*NodeInfo
			for _, n := range tc.nodes {
				nodes = append(nodes, s.Get(n.Name))
			}
			out := make([]int64, len(nodes))
			if got := tc.score(c, nodes, out); got == tc.silent {
				t.Fatalf("scorer has an opinion = %v, want %v (scores %v)", got, !tc.silent, out)
			}
			if tc.silent {
				return
			}
			best, bestScore, unique := "", int64(-1), true
			for i, v := range out {
				if v < 0 || v > maxScore {
					t.Fatalf("score %d for %s outside 0..%d", v, nodes[i].Name(), maxScore)
				}
				switch {
				case v > bestScore:
					best, bestScore, unique = nodes[i].Name(), v, true
				case v == bestScore:
					unique = false
				}
			}
			if best != tc.best || !unique {
				t.Fatalf("best node = %s (unique %v), want %s; scores %v", best, unique, tc.best, out)
			}
		})
	}
}

// TestTiesBrokenAtRandom checks identical nodes all get chosen for
// identical pods, and that the same seed repeats the same choices.
func TestTiesBrokenAtRandom(t *testing.T) {
	var nodes []*v1.Node
	for _, n := range []string{"a", "b", "c", "d"} {
		nodes = append(nodes, node(n, 1000, 1024))
	}
	run := func() []string {
		p := seeded()
		s := NewSnapshot(nodes, nil)
		var got []string
		for range 40 {
			d, err := p.Place(pod("p", 0, 0), s) // not assumed: every decision sees equal nodes
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d.Node)
		}
		return got
	}
	first := run()
	seen := map[string]bool{}
	for _, n := range first {
		seen[n] = true
	}
	if len(seen) != len(nodes) {
		t.Fatalf("40 ties chose only %v", seen)
	}
	if again := run(); !slices.Equal(first, again) {
		t.Fatalf("same seed, different choices:\n%v\n%v", first, again)
	}
}
