package scheduler

import (
	"math"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// spreadConstraint is one topology spread constraint with the pods it
// selects counted per domain (per value of its topology key).
type spreadConstraint struct {
	key        string
	maxSkew    int32
	minDomains int32
	// selfMatch is 1 when the incoming pod matches its own selector: it
	// adds to the domain it lands in.
	selfMatch int
	selector  labels.Selector // nil when workload counts instead
	namespace string
	workload  string
	// perNode: the key is the hostname, each node is its own domain and
	// its count is read from the node when needed, not kept in counts
	// (5,000 map entries per decision cost more than the decision).
	perNode bool
	// index, when set, holds this constraint's counts already (hostname
	// or zone key, every node eligible): no walk over the pods.
	index   *selectorCounts
	counts  map[string]int
	domains int
	min     int
}

// count returns how many pods on n the constraint selects.
func (sc *spreadConstraint) count(n *NodeInfo) int {
	if sc.selector == nil {
		return n.workloads[sc.workload]
	}
	if sc.index != nil {
		return sc.index.perNode[n.name]
	}
	k := 0
	for _, pi := range n.Pods {
		p := pi.Pod
		if p.Namespace == sc.namespace && p.DeletionTimestamp == nil && sc.selector.Matches(labels.Set(p.Labels)) {
			k++
		}
	}
	return k
}

// domainCount returns the count of n's domain, false if n has no value
// for the key.
func (sc *spreadConstraint) domainCount(n *NodeInfo) (int, bool) {
	if sc.perNode {
		return sc.count(n), true
	}
	v, ok := topologyValue(n, sc.key)
	if !ok {
		return 0, false
	}
	return sc.counts[v], true
}

// spreadState is every constraint of one kind (DoNotSchedule or
// ScheduleAnyway) with its counts.
type spreadState struct {
	constraints []*spreadConstraint
}

// Default spreading, kube-scheduler's system default constraints: a pod
// with no constraints of its own is spread with its workload (same
// controller) across hostnames (skew 3) and zones (skew 5), as a score.
const (
	defaultHostnameSkew = 3
	defaultZoneSkew     = 5
)

// newSpreadState builds the constraints of one kind and counts them over
// every node the pod could be placed on by node affinity. It returns nil
// when there are none.
func newSpreadState(c *cycle, kind v1.UnsatisfiableConstraintAction) *spreadState {
	pod := c.pod.Pod
	var cs []*spreadConstraint
	for _, t := range pod.Spec.TopologySpreadConstraints {
		if t.WhenUnsatisfiable != kind {
			continue
		}
		sel, err := spreadSelector(pod, &t)
		if err != nil {
			continue
		}
		sc := &spreadConstraint{key: t.TopologyKey, maxSkew: t.MaxSkew, selector: sel, namespace: pod.Namespace}
		if t.MinDomains != nil {
			sc.minDomains = *t.MinDomains
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			sc.selfMatch = 1
		}
		cs = append(cs, sc)
	}
	if kind == v1.ScheduleAnyway && len(pod.Spec.TopologySpreadConstraints) == 0 && c.pod.Workload != "" {
		if st := c.defaultSpread(); st != nil {
			return st
		}
		for _, d := range []struct {
			key  string
			skew int32
		}{{v1.LabelHostname, defaultHostnameSkew}, {v1.LabelTopologyZone, defaultZoneSkew}} {
			cs = append(cs, &spreadConstraint{key: d.key, maxSkew: d.skew, workload: c.pod.Workload, selfMatch: 1})
		}
	}
	if len(cs) == 0 {
		return nil
	}
	walk := false
	for _, sc := range cs {
		sc.perNode = sc.key == v1.LabelHostname
		sc.counts = map[string]int{}
		sc.min = math.MaxInt
		if sc.selector != nil && !c.hasNodeAffinity && (sc.perNode || sc.key == v1.LabelTopologyZone) {
			c.indexedSpread(sc, kind)
		} else {
			walk = true
		}
	}
	for _, n := range c.snap.Nodes() {
		if !walk {
			break
		}
		if n.Node == nil || !c.spreadEligible(n) {
			continue
		}
		for _, sc := range cs {
			if sc.index != nil {
				continue
			}
			if sc.perNode {
				sc.domains++
				if kind == v1.DoNotSchedule {
					sc.min = min(sc.min, sc.count(n))
				}
				continue
			}
			if v, ok := topologyValue(n, sc.key); ok {
				sc.counts[v] += sc.count(n)
			}
		}
	}
	st := &spreadState{}
	for _, sc := range cs {
		if !sc.perNode && sc.index == nil {
			sc.domains = len(sc.counts)
			for _, k := range sc.counts {
				sc.min = min(sc.min, k)
			}
		}
		if sc.domains == 0 {
			continue // no node has the key: the constraint cannot discriminate
		}
		if int32(sc.domains) < sc.minDomains {
			sc.min = 0
		}
		st.constraints = append(st.constraints, sc)
	}
	if len(st.constraints) == 0 {
		return nil
	}
	return st
}

// defaultSpread builds the default spreading constraints from the
// snapshot's workload indexes, without walking the nodes; nil when the
// pod's node affinity narrows the eligible nodes (then the general path
// counts only those).
func (c *cycle) defaultSpread() *spreadState {
	if c.hasNodeAffinity {
		return nil
	}
	w := c.pod.Workload
	st := &spreadState{}
	st.constraints = append(st.constraints, &spreadConstraint{key: v1.LabelHostname, maxSkew: defaultHostnameSkew,
		workload: w, selfMatch: 1, perNode: true, domains: c.snap.NumNodes()})
	if zones := len(c.snap.zoneNodes); zones > 0 {
		st.constraints = append(st.constraints, &spreadConstraint{key: v1.LabelTopologyZone, maxSkew: defaultZoneSkew,
			workload: w, selfMatch: 1, counts: c.snap.workloadZones[w], domains: zones})
	}
	return st
}

// indexedSpread fills a hostname or zone constraint from the snapshot's
// selector index. Every node is eligible (the pod has no node affinity).
func (c *cycle) indexedSpread(sc *spreadConstraint, kind v1.UnsatisfiableConstraintAction) {
	idx := c.snap.selectorIndex(sc.namespace, sc.selector)
	sc.index = idx
	if sc.perNode {
		sc.domains = c.snap.NumNodes()
		if kind != v1.DoNotSchedule {
			return
		}
		// The smallest count is 0 unless every node holds a selected pod.
		holding := 0
		for name, k := range idx.perNode {
			if n := c.snap.Get(name); n != nil && n.Node != nil {
				holding++
				sc.min = min(sc.min, k)
			}
		}
		if holding < sc.domains {
			sc.min = 0
		}
		return
	}
	sc.counts = idx.perZone // read only
	sc.domains = len(c.snap.zoneNodes)
	for z := range c.snap.zoneNodes {
		sc.min = min(sc.min, idx.perZone[z])
	}
}

// spreadEligible reports whether a node's pods count towards spreading:
// nodes the pod's required node affinity excludes do not (Kubernetes'
// default nodeAffinityPolicy Honor; nodeTaintsPolicy defaults to Ignore).
func (c *cycle) spreadEligible(n *NodeInfo) bool {
	if !c.hasNodeAffinity {
		return true
	}
	ok, _ := c.nodeAffinity.Match(n.Node)
	return ok
}

// spreadSelector returns the constraint's selector with its
// matchLabelKeys added as requirements on the incoming pod's values.
func spreadSelector(pod *v1.Pod, t *v1.TopologySpreadConstraint) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return nil, err
	}
	for _, k := range t.MatchLabelKeys {
		v, ok := pod.Labels[k]
		if !ok {
			continue
		}
		r, err := labels.NewRequirement(k, selection.Equals, []string{v})
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	return sel, nil
}

// checkSpread enforces DoNotSchedule constraints: placing the pod on n
// must keep the skew (its domain's count minus the smallest domain's) at
// or below maxSkew.
func checkSpread(c *cycle, n *NodeInfo) []string {
	if c.hardSpread == nil {
		return nil
	}
	for _, sc := range c.hardSpread.constraints {
		k, ok := sc.domainCount(n)
		if !ok {
			return failSpreadLabel
		}
		if k+sc.selfMatch-sc.min > int(sc.maxSkew) {
			return failSpread
		}
	}
	return nil
}

// scoreSpread prefers nodes whose domains hold fewer selected pods, for
// ScheduleAnyway constraints and default spreading. Each constraint's
// count is weighted by log(domains+2) as kube-scheduler does, so a
// constraint over many domains (hostname) and one over few (zone) both
// matter.
func scoreSpread(c *cycle, nodes []*NodeInfo, out []int64) bool {
	st := newSpreadState(c, v1.ScheduleAnyway)
	if st == nil {
		return false
	}
	raw := make([]float64, len(nodes))
	for _, sc := range st.constraints {
		w := math.Log(float64(sc.domains + 2))
		for i, n := range nodes {
			if k, ok := sc.domainCount(n); ok {
				raw[i] += float64(k+int(sc.maxSkew)-1) * w
			}
		}
	}
	lo, hi := raw[0], raw[0]
	for _, r := range raw {
		lo, hi = min(lo, r), max(hi, r)
	}
	for i, r := range raw {
		if hi == lo {
			out[i] = maxScore
		} else {
			out[i] = int64(maxScore * (hi - r) / (hi - lo))
		}
	}
	return true
}
