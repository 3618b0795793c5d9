// Package scheduler places pods on nodes.
//
// It has two halves. The placement half is pure: Place takes a pod and a
// Snapshot of the cluster (nodes and the pods bound or assumed on them) and
// returns the chosen node, or a *FitError that explains, in
// kube-scheduler's words, why no node fits. Placement runs a chain of
// filters (node ready, not cordoned, taints, node affinity and selector,
// host ports, resources, topology spread, inter-pod affinity) and then a
// set of weighted scorers (least allocated, balanced resources, topology
// spread and default spreading, preferred node and pod affinity, image
// locality, PreferNoSchedule taints), the shape of Nomad's feasibility and
// rank iterators and of the Kubernetes scheduling framework. Ties are
// broken by an injected random source so tests are deterministic.
//
// The loop half (Scheduler, New and Run) is a leader-only component: it
// watches pods without spec.nodeName and nodes through client-go
// informers, keeps a priority queue with back-off, assumes each decision
// in its cache before the bind reaches the API so a burst of pods never
// overcommits a node, binds through pods/binding, and reports a pod that
// fits nowhere with PodScheduled=False and a FailedScheduling event.
//
// The package sees the cluster only through the Kubernetes API; it never
// imports fsm, apiserver or server (internal/depcheck enforces this).
package scheduler
