package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSelectorIndexStaysExact applies thousands of random changes (pods
// added, removed, being deleted, in other namespaces; nodes changing zone,
// removed and back) and checks after each that the selector index equals
// a fresh count.
func TestSelectorIndexStaysExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var nodes []*v1.Node
	for i := range 12 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), 1000, 1024, withLabels(v1.LabelTopologyZone, propZones[i%3])))
	}
	s := NewSnapshot(nodes, nil)
	sel, _ := metav1.LabelSelectorAsSelector(labelSelector("app", "web"))
	idx := s.selectorIndex("default", sel)
	where := map[string]string{} // pod key → node
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 5:
			p := pod(fmt.Sprintf("p%d", step), 0, 0, podLabels("app", propApps[rng.IntN(3)]))
			if rng.IntN(5) == 0 {
				p.Namespace = "other"
			}
			if rng.IntN(6) == 0 {
				now := metav1.Now()
				p.DeletionTimestamp = &now
			}
			n := nodes[rng.IntN(len(nodes))].Name
			s.AddPod(NewPodInfo(p), n)
			where[p.Namespace+"/"+p.Name] = n
		case op < 8:
			for k, n := range where {
				s.RemovePod(k, n)
				delete(where, k)
				break
			}
		case op < 9:
			n := nodes[rng.IntN(len(nodes))].DeepCopy()
			n.Labels[v1.LabelTopologyZone] = propZones[rng.IntN(3)]
			if rng.IntN(4) == 0 {
				delete(n.Labels, v1.LabelTopologyZone)
			}
			s.SetNode(n)
		default:
			n := nodes[rng.IntN(len(nodes))]
			s.RemoveNode(n.Name)
			s.SetNode(n)
		}
		perNode, perZone := map[string]int{}, map[string]int{}
		for _, n := range s.Nodes() {
			for _, pi := range n.Pods {
				if idx.matches(pi) {
					perNode[n.Name()]++
					if z, ok := n.zone(); ok {
						perZone[z]++
					}
				}
			}
		}
		if !maps.Equal(perNode, idx.perNode) || !maps.Equal(perZone, idx.perZone) {
			t.Fatalf("step %d: index %v %v, recount %v %v", step, idx.perNode, idx.perZone, perNode, perZone)
		}
	}
}
