package scheduler

import (
	"math/rand/v2"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// cycle is what placement derives from one pod and the snapshot before it
// looks at nodes one by one (the framework's PreFilter and PreScore state).
type cycle struct {
	pod             *PodInfo
	snap            *Snapshot
	hasNodeAffinity bool
	nodeAffinity    nodeaffinity.RequiredNodeAffinity
	hardSpread      *spreadState
	affinity        *affinityState
	taintReasons    map[v1.Taint][]string
}

func newCycle(pi *PodInfo, s *Snapshot) *cycle {
	c := &cycle{pod: pi, snap: s}
	spec := &pi.Pod.Spec
	c.hasNodeAffinity = len(spec.NodeSelector) > 0 ||
		(spec.Affinity != nil && spec.Affinity.NodeAffinity != nil && spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil)
	if c.hasNodeAffinity {
		c.nodeAffinity = nodeaffinity.GetRequiredNodeAffinity(pi.Pod)
	}
	c.hardSpread = newSpreadState(c, v1.DoNotSchedule)
	if pi.hasAffinity() || s.affinityPods > 0 {
		c.affinity = newAffinityState(c)
	}
	return c
}

// Placer chooses a node for a pod. It keeps two pieces of state between
// calls: the random source that breaks ties, and where the last search
// stopped, so consecutive pods start their search on different nodes (as
// kube-scheduler does) instead of always filtering the same first nodes.
// A Placer is not safe for concurrent use.
type Placer struct {
	rng  *rand.Rand
	next int
	// PercentageOfNodesToScore bounds how many feasible nodes are scored
	// in a large cluster, like kube-scheduler's option of the same name:
	// 0 means adaptive (50% minus 1% per 125 nodes, at least 5%, at least
	// 100 nodes); 100 scores every feasible node.
	PercentageOfNodesToScore int
}

// NewPlacer returns a Placer that breaks ties with rng.
func NewPlacer(rng *rand.Rand) *Placer { return &Placer{rng: rng} }

// Decision is the result of a successful placement.
type Decision struct {
	Node string
	Pod  *PodInfo
	// Feasible is how many feasible nodes were found before the search
	// stopped; Evaluated how many nodes were filtered.
	Feasible, Evaluated int
}

// nodeFailure is why one node does not fit.
type nodeFailure struct {
	node       *NodeInfo
	reasons    []string
	resolvable bool
}

// Place chooses a node for pod among the nodes of s, or returns a
// *FitError saying why none fits. It does not change s; the caller
// assumes the decision (s.AddPod) if it acts on it.
func (p *Placer) Place(pod *v1.Pod, s *Snapshot) (Decision, error) {
	return p.PlaceInfo(NewPodInfo(pod), s)
}

// PlaceInfo is Place for a pod whose PodInfo the caller already has.
func (p *Placer) PlaceInfo(pi *PodInfo, s *Snapshot) (Decision, error) {
	c := newCycle(pi, s)
	nodes := s.Nodes()
	want := p.numToFind(s.NumNodes())
	feasible := make([]*NodeInfo, 0, min(want, len(nodes)))
	var failed []nodeFailure
	evaluated := 0
	start := 0
	if len(nodes) > 0 {
		start = p.next % len(nodes)
	}
	i := 0
	for ; i < len(nodes) && len(feasible) < want; i++ {
		n := nodes[(start+i)%len(nodes)]
		if n.Node == nil {
			continue
		}
		evaluated++
		if f, ok := c.filter(n); !ok {
			// Why nodes failed matters only if none fits: once one
			// does, failures are no longer kept.
			if len(feasible) == 0 {
				failed = append(failed, f)
			}
			continue
		}
		feasible = append(feasible, n)
		failed = nil
	}
	p.next = start + i
	if len(feasible) == 0 {
		return Decision{Pod: pi}, newFitError(pi.Pod, s.NumNodes(), failed)
	}
	best := p.pick(c, feasible)
	return Decision{Node: best.Name(), Pod: pi, Feasible: len(feasible), Evaluated: evaluated}, nil
}

// filter runs the filters on n; the first failure decides.
func (c *cycle) filter(n *NodeInfo) (nodeFailure, bool) {
	for i := range filters {
		if r := filters[i].check(c, n); len(r) > 0 {
			return nodeFailure{node: n, reasons: r, resolvable: filters[i].resolvable}, false
		}
	}
	return nodeFailure{}, true
}

// numToFind is how many feasible nodes to find before scoring, following
// kube-scheduler's numFeasibleNodesToFind: every node in a small cluster,
// and an adaptive share of a large one. Filtering all 5,000 nodes and
// scoring them all would cost several times the 1 ms budget for one
// decision; a 10% sample still spreads well because the search start
// rotates.
func (p *Placer) numToFind(all int) int {
	const minFeasible = 100
	if all < minFeasible || p.PercentageOfNodesToScore >= 100 {
		return all
	}
	pct := p.PercentageOfNodesToScore
	if pct <= 0 {
		pct = max(50-all/125, 5)
	}
	return max(all*pct/100, minFeasible)
}

// pick scores the feasible nodes and returns the best, breaking ties
// uniformly at random (reservoir sampling over the tied nodes).
func (p *Placer) pick(c *cycle, nodes []*NodeInfo) *NodeInfo {
	if len(nodes) == 1 {
		return nodes[0]
	}
	total := make([]int64, len(nodes))
	part := make([]int64, len(nodes))
	for _, sc := range scorers {
		clear(part)
		if !sc.score(c, nodes, part) {
			continue
		}
		for i := range part {
			total[i] += sc.weight * part[i]
		}
	}
	best, ties := 0, 1
	for i := 1; i < len(nodes); i++ {
		switch {
		case total[i] > total[best]:
			best, ties = i, 1
		case total[i] == total[best]:
			ties++
			if p.rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return nodes[best]
}

// topologyValue returns a node's value for a topology key. A node without
// a kubernetes.io/hostname label is its own hostname domain, so hostname
// spreading and anti-affinity work on nodes registered without it. The
// hostname and zone are read from fields setNode caches: this is the
// hottest lookup of a placement.
func topologyValue(n *NodeInfo, key string) (string, bool) {
	switch key {
	case v1.LabelHostname:
		return n.hostname, true
	case v1.LabelTopologyZone:
		return n.zoneValue, n.hasZone
	}
	v, ok := n.Node.Labels[key]
	return v, ok
}
