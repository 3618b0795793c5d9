package scheduler

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// FitError says why a pod fits on no node. Its message is kube-scheduler's:
// "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated
// taint {dedicated: gpu}.", each reason with the count of nodes that gave
// it, sorted as strings (kube-scheduler sorts the "count reason" strings).
type FitError struct {
	Pod      *v1.Pod
	NumNodes int
	// Reasons counts, per reason, the nodes that gave it.
	Reasons map[string]int

	failed []nodeFailure
}

// errNoNodes is kube-scheduler's message when the cluster has no nodes.
const errNoNodes = "no nodes available to schedule pods"

func newFitError(pod *v1.Pod, numNodes int, failed []nodeFailure) *FitError {
	fe := &FitError{Pod: pod, NumNodes: numNodes, Reasons: map[string]int{}, failed: failed}
	for _, f := range failed {
		for _, r := range f.reasons {
			fe.Reasons[r]++
		}
	}
	return fe
}

// Error returns the message kube-scheduler would give.
func (e *FitError) Error() string {
	if e.NumNodes == 0 {
		return errNoNodes
	}
	msg := fmt.Sprintf("0/%d nodes are available:", e.NumNodes)
	parts := make([]string, 0, len(e.Reasons))
	for r, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		msg += " " + strings.Join(parts, ", ") + "."
	}
	return msg
}
