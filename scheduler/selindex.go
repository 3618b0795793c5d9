package scheduler

import (
	"k8s.io/apimachinery/pkg/labels"
)

// maxSelectorIndexes bounds how many (namespace, selector) counts a
// Snapshot keeps up to date; the least recently used goes first.
const maxSelectorIndexes = 64

// selectorCounts counts the pods one (namespace, selector) selects, per
// node and per zone, kept exact by the Snapshot as pods and nodes come
// and go. Topology spread over hostnames or zones reads it instead of
// matching every pod of the cluster on every decision: at 10,000 pods
// that walk cost more than the rest of a placement together.
type selectorCounts struct {
	namespace string
	selector  labels.Selector
	perNode   map[string]int // node (entry) name → count, non-zero only
	perZone   map[string]int // zone → count, non-zero only
	lastUse   uint64
}

func (sc *selectorCounts) matches(pi *PodInfo) bool {
	p := pi.Pod
	return p.Namespace == sc.namespace && p.DeletionTimestamp == nil && sc.selector.Matches(labels.Set(p.Labels))
}

func addCount(m map[string]int, k string, d int) {
	if m[k] += d; m[k] == 0 {
		delete(m, k)
	}
}

// selectorIndex returns the counts for (namespace, sel), building them
// with one walk over every pod the first time.
func (s *Snapshot) selectorIndex(namespace string, sel labels.Selector) *selectorCounts {
	if s.selIndex == nil {
		s.selIndex = map[string]*selectorCounts{}
	}
	s.useClock++
	key := namespace + "\x00" + sel.String()
	if sc, ok := s.selIndex[key]; ok {
		sc.lastUse = s.useClock
		return sc
	}
	if len(s.selIndex) >= maxSelectorIndexes {
		var oldest string
		var at uint64
		for k, sc := range s.selIndex {
			if oldest == "" || sc.lastUse < at {
				oldest, at = k, sc.lastUse
			}
		}
		delete(s.selIndex, oldest)
	}
	sc := &selectorCounts{namespace: namespace, selector: sel, perNode: map[string]int{}, perZone: map[string]int{}, lastUse: s.useClock}
	for _, n := range s.nodes {
		k := 0
		for _, pi := range n.Pods {
			if sc.matches(pi) {
				k++
			}
		}
		if k == 0 {
			continue
		}
		sc.perNode[n.name] = k
		if z, ok := n.zone(); ok {
			sc.perZone[z] += k
		}
	}
	s.selIndex[key] = sc
	return sc
}

// indexPod updates every selector index for pi added (d=1) to or removed
// (d=-1) from n.
func (s *Snapshot) indexPod(pi *PodInfo, n *NodeInfo, d int) {
	for _, sc := range s.selIndex {
		if !sc.matches(pi) {
			continue
		}
		addCount(sc.perNode, n.name, d)
		if z, ok := n.zone(); ok {
			addCount(sc.perZone, z, d)
		}
	}
}

// indexZone moves n's counts into (d=1) or out of (d=-1) its zone.
func (s *Snapshot) indexZone(n *NodeInfo, d int) {
	z, ok := n.zone()
	if !ok {
		return
	}
	for _, sc := range s.selIndex {
		if k := sc.perNode[n.name]; k > 0 {
			addCount(sc.perZone, z, d*k)
		}
	}
}
