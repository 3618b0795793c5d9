package scheduler

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// NodeInfo is one node and the pods counted against it.
type NodeInfo struct {
	// Node is nil for a node the scheduler has pods for but has not seen
	// (a pod bound to a node whose Node object is not yet in the informer).
	// Such an entry is never a placement target.
	Node *v1.Node
	Pods []*PodInfo
	name string
	// Allocatable is the node's status.allocatable; Requested is the sum
	// of its pods' requests; NonZeroRequested uses scoring defaults.
	Allocatable, Requested, NonZeroRequested Resources

	ready     bool
	hostname  string
	zoneValue string
	hasZone   bool
	images    map[string]int64 // normalized image name → size in bytes
	workloads map[string]int   // PodInfo.Workload → pods on this node
	// affinityPods counts pods here with pod (anti-)affinity terms, so
	// placement skips nodes without any when it looks for them.
	affinityPods int
}

// Name returns the node's name.
func (n *NodeInfo) Name() string { return n.name }

func (n *NodeInfo) setNode(node *v1.Node) {
	n.Node = node
	n.Allocatable = fromList(node.Status.Allocatable)
	n.hostname = node.Name
	if h, ok := node.Labels[v1.LabelHostname]; ok {
		n.hostname = h
	}
	n.zoneValue, n.hasZone = node.Labels[v1.LabelTopologyZone]
	n.ready = false
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			n.ready = c.Status == v1.ConditionTrue
		}
	}
	n.images = make(map[string]int64, len(node.Status.Images))
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			n.images[normalizeImage(name)] = img.SizeBytes
		}
	}
}

func (n *NodeInfo) addPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	n.Requested.Add(pi.Requests)
	n.NonZeroRequested.Add(pi.NonZero)
	if pi.Workload != "" {
		if n.workloads == nil {
			n.workloads = map[string]int{}
		}
		n.workloads[pi.Workload]++
	}
	if pi.hasAffinity() {
		n.affinityPods++
	}
}

// removePod removes the pod with key and returns it, or nil.
func (n *NodeInfo) removePod(key string) *PodInfo {
	for i, pi := range n.Pods {
		if pi.Key != key {
			continue
		}
		last := len(n.Pods) - 1
		n.Pods[i] = n.Pods[last]
		n.Pods[last] = nil
		n.Pods = n.Pods[:last]
		n.Requested.Sub(pi.Requests)
		n.NonZeroRequested.Sub(pi.NonZero)
		if pi.Workload != "" {
			if n.workloads[pi.Workload]--; n.workloads[pi.Workload] == 0 {
				delete(n.workloads, pi.Workload)
			}
		}
		if pi.hasAffinity() {
			n.affinityPods--
		}
		return pi
	}
	return nil
}

// normalizeImage gives an image reference the ":latest" tag when it has no
// tag or digest, so "nginx" in a pod matches "nginx:latest" on a node.
func normalizeImage(name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	slash := strings.LastIndex(name, "/")
	if !strings.Contains(name[slash+1:], ":") {
		return name + ":latest"
	}
	return name
}

// Snapshot is the cluster as placement sees it: every node and the pods
// bound or assumed on each. It is not safe for concurrent use; the
// scheduler's cache guards it with its lock.
type Snapshot struct {
	nodes []*NodeInfo
	index map[string]int // node name → position in nodes
	// imageNodes counts the nodes holding each normalized image name.
	imageNodes map[string]int
	// realNodes counts entries with a Node.
	realNodes int
	// zoneNodes counts nodes per zone, and workloadZones pods per workload
	// per zone, so default spreading does not walk every node.
	zoneNodes     map[string]int
	workloadZones map[string]map[string]int
	// selIndex holds the pod counts of recently used spread selectors.
	selIndex map[string]*selectorCounts
	useClock uint64
	// affinityPods counts pods with pod (anti-)affinity terms anywhere,
	// so placement skips the search for them when there are none.
	affinityPods int
}

// NewSnapshot returns a snapshot of nodes with pods bound on them (pods
// whose spec.nodeName is set; others are ignored).
func NewSnapshot(nodes []*v1.Node, pods []*v1.Pod) *Snapshot {
	s := &Snapshot{index: map[string]int{}, imageNodes: map[string]int{}, zoneNodes: map[string]int{}, workloadZones: map[string]map[string]int{}}
	for _, n := range nodes {
		s.SetNode(n)
	}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			s.AddPod(NewPodInfo(p), p.Spec.NodeName)
		}
	}
	return s
}

// Nodes returns every entry, including ones without a Node object. The
// slice is the snapshot's own: read it, do not keep it across changes.
func (s *Snapshot) Nodes() []*NodeInfo { return s.nodes }

// NumNodes returns how many nodes (with a Node object) there are.
func (s *Snapshot) NumNodes() int { return s.realNodes }

// Get returns the entry for a node name, or nil.
func (s *Snapshot) Get(name string) *NodeInfo {
	if i, ok := s.index[name]; ok {
		return s.nodes[i]
	}
	return nil
}

func (s *Snapshot) entry(name string) *NodeInfo {
	if ni := s.Get(name); ni != nil {
		return ni
	}
	ni := &NodeInfo{name: name}
	s.index[name] = len(s.nodes)
	s.nodes = append(s.nodes, ni)
	return ni
}

// SetNode adds node or replaces its previous version.
func (s *Snapshot) SetNode(node *v1.Node) {
	ni := s.entry(node.Name)
	if ni.Node == nil {
		s.realNodes++
	}
	for img := range ni.images {
		s.imageNodes[img]--
	}
	s.zoneOut(ni)
	ni.setNode(node)
	s.zoneIn(ni)
	for img := range ni.images {
		s.imageNodes[img]++
	}
}

// zone returns the node's zone label, if it has a Node and the label.
func (n *NodeInfo) zone() (string, bool) {
	if n.Node == nil {
		return "", false
	}
	z, ok := n.Node.Labels[v1.LabelTopologyZone]
	return z, ok
}

// zoneOut takes n and its pods out of the zone indexes; zoneIn puts them
// back. Around a change of n's Node they keep the indexes exact.
func (s *Snapshot) zoneOut(n *NodeInfo) {
	s.indexZone(n, -1)
	z, ok := n.zone()
	if !ok {
		return
	}
	if s.zoneNodes[z]--; s.zoneNodes[z] == 0 {
		delete(s.zoneNodes, z)
	}
	for w, k := range n.workloads {
		s.addWorkloadZone(w, z, -k)
	}
}

func (s *Snapshot) zoneIn(n *NodeInfo) {
	s.indexZone(n, 1)
	z, ok := n.zone()
	if !ok {
		return
	}
	s.zoneNodes[z]++
	for w, k := range n.workloads {
		s.addWorkloadZone(w, z, k)
	}
}

func (s *Snapshot) addWorkloadZone(w, z string, k int) {
	m := s.workloadZones[w]
	if m == nil {
		m = map[string]int{}
		s.workloadZones[w] = m
	}
	if m[z] += k; m[z] == 0 {
		delete(m, z)
		if len(m) == 0 {
			delete(s.workloadZones, w)
		}
	}
}

// RemoveNode forgets a node. Pods still counted on it keep an entry
// without a Node until they are removed, so a node that comes back is
// not seen as empty.
func (s *Snapshot) RemoveNode(name string) {
	ni := s.Get(name)
	if ni == nil || ni.Node == nil {
		return
	}
	for img := range ni.images {
		s.imageNodes[img]--
	}
	s.zoneOut(ni)
	ni.Node, ni.images = nil, nil
	s.realNodes--
	if len(ni.Pods) == 0 {
		s.drop(name)
	}
}

func (s *Snapshot) drop(name string) {
	i := s.index[name]
	last := len(s.nodes) - 1
	if i != last {
		s.nodes[i] = s.nodes[last]
		s.index[s.nodes[i].name] = i
	}
	s.nodes[last] = nil
	s.nodes = s.nodes[:last]
	delete(s.index, name)
}

// AddPod counts pi against nodeName.
func (s *Snapshot) AddPod(pi *PodInfo, nodeName string) {
	if pi.hasAffinity() {
		s.affinityPods++
	}
	ni := s.entry(nodeName)
	ni.addPod(pi)
	s.indexPod(pi, ni, 1)
	if z, ok := ni.zone(); ok && pi.Workload != "" {
		s.addWorkloadZone(pi.Workload, z, 1)
	}
}

// RemovePod stops counting the pod with key against nodeName.
func (s *Snapshot) RemovePod(key, nodeName string) {
	ni := s.Get(nodeName)
	if ni == nil {
		return
	}
	if pi := ni.removePod(key); pi != nil {
		s.indexPod(pi, ni, -1)
		if pi.hasAffinity() {
			s.affinityPods--
		}
		if z, ok := ni.zone(); ok && pi.Workload != "" {
			s.addWorkloadZone(pi.Workload, z, -1)
		}
	}
	if ni.Node == nil && len(ni.Pods) == 0 {
		s.drop(nodeName)
	}
}
