package scheduler

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestFilters checks each filter's verdict for one pod on one node, with
// the pods already bound there.
func TestFilters(t *testing.T) {
	const zone = v1.LabelTopologyZone
	tests := []struct {
		name     string
		node     *v1.Node
		existing []*v1.Pod // bound to the node under test
		others   []*v1.Pod // bound to node "other" (zone b)
		pod      *v1.Pod
		want     []string // nil: fits
	}{
		{"fits", node("n", 1000, 1024), nil, nil, pod("p", 500, 512), nil},
		{"not ready", node("n", 1000, 1024, notReady), nil, nil, pod("p", 0, 0), []string{reasonNotReady}},
		{"cordoned", node("n", 1000, 1024, cordoned), nil, nil, pod("p", 0, 0), []string{reasonUnschedulable}},
		{"cordon tolerated", node("n", 1000, 1024, cordoned), nil, nil,
			pod("p", 0, 0, tolerate(v1.TaintNodeUnschedulable, "", v1.TaintEffectNoSchedule)), nil},
		{"NoSchedule taint", node("n", 1000, 1024, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil, nil,
			pod("p", 0, 0), []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"NoExecute taint", node("n", 1000, 1024, withTaint("k", "", v1.TaintEffectNoExecute)), nil, nil,
			pod("p", 0, 0), []string{"node(s) had untolerated taint {k: }"}},
		{"PreferNoSchedule is not a filter", node("n", 1000, 1024, withTaint("k", "v", v1.TaintEffectPreferNoSchedule)), nil, nil,
			pod("p", 0, 0), nil},
		{"taint tolerated", node("n", 1000, 1024, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil, nil,
			pod("p", 0, 0, tolerate("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil},
		{"toleration of another value", node("n", 1000, 1024, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)), nil, nil,
			pod("p", 0, 0, tolerate("dedicated", "cpu", v1.TaintEffectNoSchedule)), []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{"node selector matches", node("n", 1000, 1024, withLabels("disk", "ssd")), nil, nil, pod("p", 0, 0, nodeSelector("disk", "ssd")), nil},
		{"node selector misses", node("n", 1000, 1024), nil, nil, pod("p", 0, 0, nodeSelector("disk", "ssd")), []string{reasonNodeAffinity}},
		{"required node affinity", node("n", 1000, 1024, withLabels("disk", "hdd")), nil, nil, pod("p", 0, 0, func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd", "nvme"}}}}}}}}
		}), []string{reasonNodeAffinity}},
		{"host port free", node("n", 1000, 1024), []*v1.Pod{pod("e", 0, 0, hostPortOpt(80))}, nil, pod("p", 0, 0, hostPortOpt(8080)), nil},
		{"host port taken", node("n", 1000, 1024), []*v1.Pod{pod("e", 0, 0, hostPortOpt(80))}, nil, pod("p", 0, 0, hostPortOpt(80)), []string{reasonPorts}},
		{"cpu short", node("n", 1000, 1024), []*v1.Pod{pod("e", 600, 0)}, nil, pod("p", 500, 0), []string{"Insufficient cpu"}},
		{"cpu and memory short", node("n", 1000, 1024), []*v1.Pod{pod("e", 600, 600)}, nil, pod("p", 500, 500),
			[]string{"Insufficient cpu", "Insufficient memory"}},
		{"exactly full fits", node("n", 1000, 1024), []*v1.Pod{pod("e", 500, 512)}, nil, pod("p", 500, 512), nil},
		{"too many pods", node("n", 1000, 1024, withPodsAllocatable(1)), []*v1.Pod{pod("e", 0, 0)}, nil, pod("p", 0, 0), []string{reasonTooManyPods}},
		{"init container counts when larger", node("n", 1000, 1024), nil, nil, pod("p", 100, 0, func(p *v1.Pod) {
			big := pod("x", 1500, 0).Spec.Containers[0]
			big.Name = "init"
			p.Spec.InitContainers = []v1.Container{big}
		}), []string{"Insufficient cpu"}},
		{"overhead counts", node("n", 1000, 1024), nil, nil, pod("p", 900, 0, func(p *v1.Pod) {
			p.Spec.Overhead = pod("x", 200, 0).Spec.Containers[0].Resources.Requests
		}), []string{"Insufficient cpu"}},
		{"ephemeral storage short", node("n", 1000, 1024), nil, nil, pod("p", 0, 0, func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests[v1.ResourceEphemeralStorage] = *mustQuantity("20Gi")
		}), []string{"Insufficient ephemeral-storage"}},
		{"anti-affinity on hostname", node("n", 1000, 1024), []*v1.Pod{pod("e", 0, 0, podLabels("app", "db"))}, nil,
			pod("p", 0, 0, antiAffinity(v1.LabelHostname, "app", "db")), []string{reasonPodAntiAffinity}},
		{"anti-affinity elsewhere", node("n", 1000, 1024, withLabels(zone, "a")), nil, []*v1.Pod{pod("e", 0, 0, podLabels("app", "db"))},
			pod("p", 0, 0, antiAffinity(v1.LabelHostname, "app", "db")), nil},
		{"anti-affinity on zone", node("n", 1000, 1024, withLabels(zone, "b")), nil, []*v1.Pod{pod("e", 0, 0, podLabels("app", "db"))},
			pod("p", 0, 0, antiAffinity(zone, "app", "db")), []string{reasonPodAntiAffinity}},
		{"existing pod's anti-affinity", node("n", 1000, 1024), []*v1.Pod{pod("e", 0, 0, antiAffinity(v1.LabelHostname, "app", "web"))}, nil,
			pod("p", 0, 0, podLabels("app", "web")), []string{reasonExistingAntiAff}},
		{"affinity to a zone with the pod", node("n", 1000, 1024, withLabels(zone, "b")), nil, []*v1.Pod{pod("e", 0, 0, podLabels("app", "cache"))},
			pod("p", 0, 0, affinity(zone, "app", "cache")), nil},
		{"affinity to a zone without it", node("n", 1000, 1024, withLabels(zone, "a")), nil, []*v1.Pod{pod("e", 0, 0, podLabels("app", "cache"))},
			pod("p", 0, 0, affinity(zone, "app", "cache")), []string{reasonPodAffinity}},
		{"affinity first of its group", node("n", 1000, 1024, withLabels(zone, "a")), nil, nil,
			pod("p", 0, 0, podLabels("app", "cache"), affinity(zone, "app", "cache")), nil},
		{"spread skew ok", node("n", 1000, 1024, withLabels(zone, "a")), nil, []*v1.Pod{pod("e", 0, 0, podLabels("app", "w"))},
			pod("p", 0, 0, podLabels("app", "w"), spread(zone, 1, v1.DoNotSchedule, "app", "w")), nil},
		{"spread skew exceeded", node("n", 1000, 1024, withLabels(zone, "a")), []*v1.Pod{pod("e", 0, 0, podLabels("app", "w"))}, nil,
			pod("p", 0, 0, podLabels("app", "w"), spread(zone, 1, v1.DoNotSchedule, "app", "w")), []string{reasonSpread}},
		{"spread ScheduleAnyway is not a filter", node("n", 1000, 1024, withLabels(zone, "b")), []*v1.Pod{pod("e", 0, 0, podLabels("app", "w"))}, nil,
			pod("p", 0, 0, podLabels("app", "w"), spread(zone, 1, v1.ScheduleAnyway, "app", "w")), nil},
		{"spread key missing", node("n", 1000, 1024), nil, nil,
			pod("p", 0, 0, podLabels("app", "w"), spread(zone, 1, v1.DoNotSchedule, "app", "w")), []string{reasonSpreadLabel}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := node("other", 1000, 1024, withLabels(v1.LabelTopologyZone, "b"))
			if _, ok := tc.node.Labels[v1.LabelTopologyZone]; !ok && tc.name != "spread key missing" {
				// Give the node under test its own zone unless the case sets one.
				tc.node.Labels[v1.LabelTopologyZone] = "a"
				if tc.name == "anti-affinity on hostname" || tc.name == "existing pod's anti-affinity" {
					tc.node.Labels[v1.LabelTopologyZone] = "c"
				}
			}
			var pods []*v1.Pod
			for _, p := range tc.existing {
				pods = append(pods, onNodeCopy(p, tc.node.Name))
			}
			for _, p := range tc.others {
				pods = append(pods, onNodeCopy(p, "other"))
			}
			s := NewSnapshot([]*v1.Node{tc.node, other}, pods)
			c := newCycle(NewPodInfo(tc.pod), s)
			f, ok := c.filter(s.Get(tc.node.Name))
			if ok != (tc.want == nil) || !slices.Equal(f.reasons, tc.want) {
				t.Fatalf("filter = %v (fits %v), want %v", f.reasons, ok, tc.want)
			}
		})
	}
}

func onNodeCopy(p *v1.Pod, name string) *v1.Pod {
	p = p.DeepCopy()
	p.Spec.NodeName = name
	return p
}

// TestFitErrorMessage checks the message is kube-scheduler's, reasons
// counted per node and sorted as strings.
func TestFitErrorMessage(t *testing.T) {
	nodes := []*v1.Node{
		node("a", 500, 4096), node("b", 500, 4096), node("c", 500, 4096),
		node("d", 8000, 4096, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)),
		node("e", 8000, 4096, withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)),
	}
	_, err := seeded().Place(pod("p", 1000, 100), NewSnapshot(nodes, nil))
	var fe *FitError
	if !errors.As(err, &fe) {
		t.Fatalf("Place error = %v, want a *FitError", err)
	}
	const want = "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."
	if fe.Error() != want {
		t.Fatalf("message\n got %q\nwant %q", fe.Error(), want)
	}
	if _, err := seeded().Place(pod("p", 1, 1), NewSnapshot(nil, nil)); err == nil || err.Error() != errNoNodes {
		t.Fatalf("no nodes: error = %v, want %q", err, errNoNodes)
	}
}
