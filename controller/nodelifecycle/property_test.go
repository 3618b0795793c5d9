package nodelifecycle

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestDecideProperties checks invariants of Decide over random clusters:
// a heartbeating node is written only to lose this controller's taints; no pod is evicted from a
// disrupted zone or from a reachable node; applying a decision's node
// actions reaches a fixed point (deciding again at the same instant asks
// for no further node write).
func TestDecideProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 2000 {
		now := t0.Add(time.Minute)
		in := Input{Now: now, Started: t0, Params: params}
		nNodes := 1 + rng.IntN(8)
		for i := range nNodes {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i), Labels: map[string]string{}}}
			if rng.IntN(2) == 0 {
				n.Labels[ZoneLabel] = fmt.Sprintf("z%d", rng.IntN(2))
			}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady,
				Status: []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionUnknown, corev1.ConditionFalse}[rng.IntN(3)]}}
			for _, eff := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
				if rng.IntN(2) == 0 {
					at := metav1.NewTime(now.Add(-time.Duration(rng.IntN(10)) * time.Second))
					n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: eff, TimeAdded: &at})
				}
			}
			seen := now.Add(-time.Duration(rng.IntN(10)) * time.Second)
			in.Nodes = append(in.Nodes, NodeInput{Node: n, LastSeen: seen, Dead: rng.IntN(6) == 0})
			for j := range rng.IntN(3) {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p%d-%d", i, j), UID: types.UID(fmt.Sprintf("u%d-%d", i, j))},
					Spec: corev1.PodSpec{NodeName: n.Name}}
				if rng.IntN(3) == 0 {
					secs := int64(rng.IntN(6))
					p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, TolerationSeconds: &secs}}
				}
				in.Pods = append(in.Pods, p)
			}
		}
		d := Decide(in)
		unreachable := map[string]bool{}
		for _, n := range d.Unreachable {
			unreachable[n] = true
		}
		disrupted := map[string]bool{}
		for _, z := range d.Disruptions {
			disrupted[z.Zone] = true
		}
		zoneOf := map[string]string{}
		for _, n := range in.Nodes {
			zoneOf[n.Node.Name] = n.Node.Labels[ZoneLabel]
			healthy := !n.Dead && now.Sub(n.LastSeen) <= params.LeaseGrace
			if healthy == unreachable[n.Node.Name] {
				t.Fatalf("iter %d: node %s healthy=%v but unreachable=%v", iter, n.Node.Name, healthy, unreachable[n.Node.Name])
			}
		}
		hadOurTaint := map[string]bool{}
		for _, n := range in.Nodes {
			for _, tn := range n.Node.Spec.Taints {
				hadOurTaint[n.Node.Name] = hadOurTaint[n.Node.Name] || owned(tn)
			}
		}
		for _, a := range d.Nodes {
			if a.Reachable && (a.MarkUnknown || !hadOurTaint[a.Node]) {
				t.Fatalf("iter %d: reachable node %s written: %+v", iter, a.Node, a)
			}
		}
		for _, e := range d.Evictions {
			if !unreachable[e.Node] || disrupted[zoneOf[e.Node]] {
				t.Fatalf("iter %d: pod %s evicted from node %s (unreachable %v, zone disrupted %v)", iter, e.Pod, e.Node, unreachable[e.Node], disrupted[zoneOf[e.Node]])
			}
		}
		// Apply the node actions and decide again.
		byName := map[string]NodeAction{}
		for _, a := range d.Nodes {
			byName[a.Node] = a
		}
		for i, n := range in.Nodes {
			a, ok := byName[n.Node.Name]
			if !ok {
				continue
			}
			node := n.Node.DeepCopy()
			if a.MarkUnknown {
				markUnknown(node, metav1.NewTime(now))
			}
			if a.Taints != nil {
				node.Spec.Taints = a.Taints
			}
			in.Nodes[i].Node = node
		}
		if again := Decide(in); len(again.Nodes) != 0 {
			t.Fatalf("iter %d: no fixed point: %+v after %+v", iter, again.Nodes, d.Nodes)
		}
	}
}
