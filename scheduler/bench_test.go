package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// benchCluster returns a snapshot of k nodes in 3 zones, 10% tainted, with
// two pods of 50 workloads bound on each node, one of them labelled app=w.
func benchCluster(k int) *Snapshot {
	rng := rand.New(rand.NewPCG(1, 1))
	nodes := make([]*v1.Node, k)
	var pods []*v1.Pod
	for i := range nodes {
		n := node(fmt.Sprintf("node-%05d", i), 8000, 16384, withLabels(v1.LabelTopologyZone, propZones[i%3]), withImage("app:1", 200<<20))
		if i%10 == 0 {
			withTaint("dedicated", "gpu", v1.TaintEffectNoSchedule)(n)
		}
		nodes[i] = n
		for j := range 2 {
			// Half the pods carry the label the spread and anti-affinity
			// cases select, so their counts are not trivially zero.
			pods = append(pods, pod(fmt.Sprintf("p-%d-%d", i, j), 100, 128, onNode(n.Name), ownedBy(fmt.Sprintf("rs%d", rng.IntN(50))),
				podLabels("app", []string{"w", "other"}[j])))
		}
	}
	return NewSnapshot(nodes, pods)
}

// BenchmarkPlace5000 measures one placement decision at 5,000 nodes and
// 10,000 bound pods (target ≤ 1 ms), for a plain workload pod and for one
// with a zone spread constraint and hostname anti-affinity.
func BenchmarkPlace5000(b *testing.B) {
	s := benchCluster(5000)
	cases := []struct {
		name string
		pod  *v1.Pod
	}{
		{"workload", pod("new", 200, 256, ownedBy("rs7"))},
		{"zone-spread", pod("new", 200, 256, ownedBy("rs7"), podLabels("app", "w"),
			spread(v1.LabelTopologyZone, 1, v1.DoNotSchedule, "app", "w"))},
		{"zone-spread+hostname-anti", pod("new", 200, 256, ownedBy("rs7"), podLabels("app", "x"),
			spread(v1.LabelTopologyZone, 1, v1.DoNotSchedule, "app", "w"), antiAffinity(v1.LabelHostname, "app", "x"))},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			p := NewPlacer(rand.New(rand.NewPCG(3, 4)))
			pi := NewPodInfo(bc.pod)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.PlaceInfo(pi, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
