package scheduler

import (
	"cmp"
	"context"
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Preemption is a plan to make room for a pod: evict Victims from Node.
type Preemption struct {
	Node    string
	Victims []*PodInfo
}

// FindPreemption looks, among the nodes that failed only for reasons
// evicting pods can fix (resources, host ports), for the node where
// evicting the fewest pods of lower priority than pi makes it fit, never
// a pod of equal or higher priority. Ties go to the node whose most
// important victim has the lowest priority. Pods already being deleted
// are counted as gone and are not victims, so a pod whose room is being
// freed is nominated again without evicting more. It reports false when
// no eviction helps.
//
// Per node it follows kube-scheduler: take away every lower-priority pod;
// if the pod then fits, give back the most important ones first as long
// as it still fits; whatever could not be given back is the victim set.
// Other checks (spread, inter-pod affinity) are evaluated with the
// counts from before the eviction: an approximation kube-scheduler
// avoids by updating its pre-filter state, noted in docs/scheduler.md.
func FindPreemption(pi *PodInfo, s *Snapshot, fe *FitError) (Preemption, bool) {
	c := newCycle(pi, s)
	var best Preemption
	bestMax, found := int32(0), false
	for _, f := range fe.failed {
		if !f.resolvable {
			continue
		}
		victims, ok := selectVictims(c, f.node)
		if !ok {
			continue
		}
		top := int32(minPriority)
		for _, v := range victims {
			top = max(top, v.Priority)
		}
		if !found || len(victims) < len(best.Victims) || (len(victims) == len(best.Victims) && top < bestMax) {
			best, bestMax, found = Preemption{Node: f.node.Name(), Victims: victims}, top, true
		}
	}
	return best, found
}

const minPriority = -1 << 31

// selectVictims returns the fewest pods on n to evict so pi fits.
func selectVictims(c *cycle, n *NodeInfo) ([]*PodInfo, bool) {
	trial := &NodeInfo{Node: n.Node, name: n.name, Allocatable: n.Allocatable, ready: n.ready,
		hostname: n.hostname, zoneValue: n.zoneValue, hasZone: n.hasZone, images: n.images}
	var lower []*PodInfo
	leaving := 0
	for _, p := range n.Pods {
		switch {
		case p.Pod.DeletionTimestamp != nil:
			// Already leaving: counts as gone, is no one's victim.
			leaving++
		case p.Priority < c.pod.Priority:
			lower = append(lower, p)
		default:
			trial.addPod(p)
		}
	}
	if len(lower) == 0 && leaving == 0 {
		return nil, false // nothing here may go: the node stays as it failed
	}
	if _, ok := c.filter(trial); !ok {
		return nil, false
	}
	// Give back the most important first; among equals, the older pod.
	slices.SortFunc(lower, func(a, b *PodInfo) int {
		if d := cmp.Compare(b.Priority, a.Priority); d != 0 {
			return d
		}
		return a.Pod.CreationTimestamp.Compare(b.Pod.CreationTimestamp.Time)
	})
	var victims []*PodInfo
	for _, p := range lower {
		trial.addPod(p)
		if _, ok := c.filter(trial); !ok {
			trial.removePod(p.Key)
			victims = append(victims, p)
		}
	}
	return victims, true
}

// preempt evicts the victims of a preemption plan for a pod that fits
// nowhere (graceful delete, with the victim's UID as precondition so a
// recreated pod of the same name is spared) and returns the nominated
// node, or "" when preemption cannot help.
func (s *Scheduler) preempt(ctx context.Context, pi *PodInfo, fe *FitError) string {
	if pi.Pod.Spec.PreemptionPolicy != nil && *pi.Pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return ""
	}
	s.cache.mu.Lock()
	plan, ok := FindPreemption(pi, s.cache.snap, fe)
	s.cache.mu.Unlock()
	if !ok {
		return ""
	}
	for _, v := range plan.Victims {
		uid := v.Pod.UID
		err := s.client.CoreV1().Pods(v.Pod.Namespace).Delete(ctx, v.Pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			s.log.Warn("preemption: evict victim", "pod", v.Key, "for", pi.Key, "err", err)
			return ""
		}
		s.recorder.Eventf(v.Pod, v1.EventTypeNormal, eventPreempted, "Preempted by pod %s on node %s", pi.Pod.UID, plan.Node)
	}
	s.log.Info("preempted pods", "for", pi.Key, "node", plan.Node, "victims", len(plan.Victims))
	return plan.Node
}
