package scheduler

import (
	"slices"

	v1 "k8s.io/api/core/v1"
)

// topoPair is one topology domain: a key and a node's value for it.
type topoPair struct{ key, value string }

// affinityState is the incoming pod's view of inter-pod affinity, counted
// over every pod in the snapshot (kube-scheduler's InterPodAffinity
// PreFilter state).
type affinityState struct {
	// existingAnti holds the domains where some existing pod's required
	// anti-affinity term selects the incoming pod.
	existingAnti     map[topoPair]int
	existingAntiKeys []string
	// affinity and anti count, per domain, existing pods selected by the
	// incoming pod's required affinity and anti-affinity terms.
	affinity, anti map[topoPair]int
	// selfAffinity: no pod matches the pod's required affinity yet, but
	// the pod matches its own terms: the first pod of a group may go
	// anywhere, as in Kubernetes.
	selfAffinity bool
}

func newAffinityState(c *cycle) *affinityState {
	st := &affinityState{existingAnti: map[topoPair]int{}, affinity: map[topoPair]int{}, anti: map[topoPair]int{}}
	in := c.pod
	needAll := len(in.requiredAffinity) > 0 || slices.ContainsFunc(in.requiredAntiAffinity,
		func(t affinityTerm) bool { return t.topologyKey != v1.LabelHostname })
	for _, n := range c.snap.Nodes() {
		if n.Node == nil || (!needAll && n.affinityPods == 0) {
			continue
		}
		for _, ex := range n.Pods {
			for i := range ex.requiredAntiAffinity {
				t := &ex.requiredAntiAffinity[i]
				if v, ok := topologyValue(n, t.topologyKey); ok && t.matches(in.Pod) {
					if !slices.Contains(st.existingAntiKeys, t.topologyKey) {
						st.existingAntiKeys = append(st.existingAntiKeys, t.topologyKey)
					}
					st.existingAnti[topoPair{t.topologyKey, v}]++
				}
			}
			if !needAll {
				continue
			}
			for i := range in.requiredAffinity {
				t := &in.requiredAffinity[i]
				if v, ok := topologyValue(n, t.topologyKey); ok && t.matches(ex.Pod) {
					st.affinity[topoPair{t.topologyKey, v}]++
				}
			}
			for i := range in.requiredAntiAffinity {
				t := &in.requiredAntiAffinity[i]
				if t.topologyKey == v1.LabelHostname {
					continue // checked on each node's own pods by the filter
				}
				if v, ok := topologyValue(n, t.topologyKey); ok && t.matches(ex.Pod) {
					st.anti[topoPair{t.topologyKey, v}]++
				}
			}
		}
	}
	if len(in.requiredAffinity) > 0 && len(st.affinity) == 0 {
		st.selfAffinity = true
		for i := range in.requiredAffinity {
			if !in.requiredAffinity[i].matches(in.Pod) {
				st.selfAffinity = false
			}
		}
	}
	return st
}

func checkInterPodAffinity(c *cycle, n *NodeInfo) []string {
	st := c.affinity
	if st == nil {
		return nil
	}
	for _, k := range st.existingAntiKeys {
		if v, ok := topologyValue(n, k); ok && st.existingAnti[topoPair{k, v}] > 0 {
			return failExistingAntiAff
		}
	}
	for i := range c.pod.requiredAffinity {
		t := &c.pod.requiredAffinity[i]
		v, ok := topologyValue(n, t.topologyKey)
		if !ok || (st.affinity[topoPair{t.topologyKey, v}] == 0 && !st.selfAffinity) {
			return failPodAffinity
		}
	}
	for i := range c.pod.requiredAntiAffinity {
		t := &c.pod.requiredAntiAffinity[i]
		if t.topologyKey == v1.LabelHostname {
			// A hostname domain is one node: reading its pods here costs
			// less than counting every pod of the cluster up front.
			for _, ex := range n.Pods {
				if t.matches(ex.Pod) {
					return failPodAntiAffinity
				}
			}
			continue
		}
		if v, ok := topologyValue(n, t.topologyKey); ok && st.anti[topoPair{t.topologyKey, v}] > 0 {
			return failPodAntiAffinity
		}
	}
	return nil
}

// scoreInterPodAffinity sums, per node, the weights of preferred terms
// satisfied in the node's domains: the incoming pod's preferred affinity
// (+) and anti-affinity (−) towards existing pods, and existing pods'
// preferred terms towards the incoming pod, then scales to 0..100.
func scoreInterPodAffinity(c *cycle, nodes []*NodeInfo, out []int64) bool {
	in := c.pod
	own := len(in.preferredAffinity)+len(in.preferredAntiAffinity) > 0
	if !own && c.snap.affinityPods == 0 {
		return false
	}
	weights := map[string]map[string]int64{} // topology key → value → weight
	add := func(n *NodeInfo, terms []affinityTerm, target *v1.Pod, sign int64) {
		for i := range terms {
			t := &terms[i]
			if v, ok := topologyValue(n, t.topologyKey); ok && t.matches(target) {
				if weights[t.topologyKey] == nil {
					weights[t.topologyKey] = map[string]int64{}
				}
				weights[t.topologyKey][v] += sign * int64(t.weight)
			}
		}
	}
	for _, n := range c.snap.Nodes() {
		if n.Node == nil || (!own && n.affinityPods == 0) {
			continue
		}
		for _, ex := range n.Pods {
			if own {
				add(n, in.preferredAffinity, ex.Pod, 1)
				add(n, in.preferredAntiAffinity, ex.Pod, -1)
			}
			add(n, ex.preferredAffinity, in.Pod, 1)
			add(n, ex.preferredAntiAffinity, in.Pod, -1)
		}
	}
	if len(weights) == 0 {
		return false
	}
	raw := make([]int64, len(nodes))
	for key, byValue := range weights {
		for i, n := range nodes {
			if v, ok := topologyValue(n, key); ok {
				raw[i] += byValue[v]
			}
		}
	}
	normalizeMinMax(raw, out)
	return true
}
