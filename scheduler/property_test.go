package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestPlacementProperties places thousands of random pods on random
// clusters, assuming each decision as the scheduler loop does, and checks
// every decision against an oracle written independently of the filters:
// no node is overcommitted, no placement violates a taint, a node
// selector, a cordon, a host port or a hostname anti-affinity, and no pod
// is refused while some node could take it.
func TestPlacementProperties(t *testing.T) {
	placed, refused := 0, 0
	for seed := range uint64(150) {
		rng := rand.New(rand.NewPCG(seed, 99))
		nodes := randomNodes(rng, 3+rng.IntN(40))
		s := NewSnapshot(nodes, nil)
		p := NewPlacer(rand.New(rand.NewPCG(seed, 7)))
		if seed%3 == 0 {
			p.PercentageOfNodesToScore = 100
		}
		bound := map[string][]*v1.Pod{}
		for i := range 20 + rng.IntN(80) {
			pd := randomPod(rng, fmt.Sprintf("p%d-%d", seed, i))
			d, err := p.Place(pd, s)
			if err != nil {
				var fe *FitError
				if !errors.As(err, &fe) {
					t.Fatalf("seed %d: error %v is not a FitError", seed, err)
				}
				for _, n := range nodes {
					if why := oracleFits(n, bound[n.Name], pd); why == "" {
						t.Fatalf("seed %d: pod %s refused (%v) but fits node %s", seed, pd.Name, err, n.Name)
					}
				}
				refused++
				continue
			}
			n := findNode(nodes, d.Node)
			if why := oracleFits(n, bound[n.Name], pd); why != "" {
				t.Fatalf("seed %d: pod %s placed on %s, which it does not fit: %s", seed, pd.Name, n.Name, why)
			}
			pd.Spec.NodeName = d.Node
			bound[d.Node] = append(bound[d.Node], pd)
			s.AddPod(d.Pod, d.Node)
			placed++
		}
	}
	t.Logf("%d pods placed, %d refused", placed, refused)
	if placed < 1000 || refused < 100 {
		t.Fatalf("the random cases are too easy or too hard: %d placed, %d refused", placed, refused)
	}
}

func findNode(nodes []*v1.Node, name string) *v1.Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

var (
	propZones  = []string{"a", "b", "c"}
	propDisks  = []string{"ssd", "hdd"}
	propTeams  = []string{"gpu", "db"}
	propApps   = []string{"web", "db", "cache"}
	propEffect = []v1.TaintEffect{v1.TaintEffectNoSchedule, v1.TaintEffectNoExecute, v1.TaintEffectPreferNoSchedule}
)

func randomNodes(rng *rand.Rand, k int) []*v1.Node {
	var out []*v1.Node
	for i := range k {
		n := node(fmt.Sprintf("n%d", i), int64(500+rng.IntN(4000)), int64(512+rng.IntN(4096)),
			withLabels(v1.LabelTopologyZone, propZones[rng.IntN(3)], "disk", propDisks[rng.IntN(2)]),
			withPodsAllocatable(int64(2+rng.IntN(15))))
		if rng.IntN(8) == 0 {
			cordoned(n)
		}
		if rng.IntN(10) == 0 {
			notReady(n)
		}
		if rng.IntN(4) == 0 {
			withTaint("dedicated", propTeams[rng.IntN(2)], propEffect[rng.IntN(3)])(n)
		}
		out = append(out, n)
	}
	return out
}

func randomPod(rng *rand.Rand, name string) *v1.Pod {
	var opts []func(*v1.Pod)
	if rng.IntN(4) == 0 {
		opts = append(opts, nodeSelector("disk", propDisks[rng.IntN(2)]))
	}
	if rng.IntN(3) == 0 {
		opts = append(opts, tolerate("dedicated", propTeams[rng.IntN(2)], propEffect[rng.IntN(2)]))
	}
	if rng.IntN(5) == 0 {
		opts = append(opts, hostPortOpt(int32(8000+rng.IntN(3))))
	}
	app := propApps[rng.IntN(3)]
	opts = append(opts, podLabels("app", app))
	if rng.IntN(5) == 0 {
		opts = append(opts, antiAffinity(v1.LabelHostname, "app", app))
	}
	return pod(name, int64(rng.IntN(1200)), int64(rng.IntN(1200)), opts...)
}

// oracleFits says why pod cannot go to n with pods already there, or ""
// if it can. It is written from the rules, not from the filters.
func oracleFits(n *v1.Node, pods []*v1.Pod, pd *v1.Pod) string {
	if n.Status.Conditions[0].Status != v1.ConditionTrue {
		return "not ready"
	}
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	for _, taint := range n.Spec.Taints {
		if taint.Effect == v1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for _, tol := range pd.Spec.Tolerations {
			if tol.Key == taint.Key && tol.Value == taint.Value && tol.Effect == taint.Effect {
				ok = true
			}
		}
		if !ok {
			return "taint " + taint.ToString()
		}
	}
	for k, v := range pd.Spec.NodeSelector {
		if n.Labels[k] != v {
			return "selector " + k
		}
	}
	cpu, mem := sumRequests(pd)
	for _, o := range pods {
		c, m := sumRequests(o)
		cpu, mem = cpu+c, mem+m
		for _, a := range o.Spec.Containers[0].Ports {
			for _, b := range pd.Spec.Containers[0].Ports {
				if a.HostPort == b.HostPort {
					return "host port"
				}
			}
		}
		if antiSelects(pd, o) || antiSelects(o, pd) {
			return "anti-affinity"
		}
	}
	alloc := n.Status.Allocatable
	if cpu > alloc.Cpu().MilliValue() || mem > alloc.Memory().Value() {
		return "resources"
	}
	if int64(len(pods)+1) > alloc.Pods().Value() {
		return "pod count"
	}
	return ""
}

func sumRequests(p *v1.Pod) (milliCPU, mem int64) {
	for _, c := range p.Spec.Containers {
		milliCPU += c.Resources.Requests.Cpu().MilliValue()
		mem += c.Resources.Requests.Memory().Value()
	}
	return milliCPU, mem
}

// antiSelects reports whether a's hostname anti-affinity selects b.
func antiSelects(a, b *v1.Pod) bool {
	if a.Spec.Affinity == nil || a.Spec.Affinity.PodAntiAffinity == nil {
		return false
	}
	for _, term := range a.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		match := true
		for k, v := range term.LabelSelector.MatchLabels {
			if b.Labels[k] != v {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}
