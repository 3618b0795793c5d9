package deployment

import (
	"math"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Plan is one step of a rollout: the spec.replicas the step wants for the
// new ReplicaSet and for the old ReplicaSets it changes, by name. An empty
// Plan (Changed false) means the rollout waits for pods to change.
type Plan struct {
	New int32
	Old map[string]int32
}

// Changed reports whether p differs from the current state.
func (p Plan) Changed(newRS *appsv1.ReplicaSet) bool {
	return len(p.Old) > 0 || p.New != replicasOf(newRS)
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

// podsOf is how many pods rs may have at this moment: its spec, or more
// while a scale-down is still deleting pods.
func podsOf(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return max(replicasOf(rs), rs.Status.Replicas)
}

// availableOf is how many of rs's pods count as available: what its status
// reports, but never more than its spec, since pods beyond the spec are
// about to be deleted.
func availableOf(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, replicasOf(rs))
}

// Replicas returns d's desired replicas (1 if unset).
func Replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// Fenceposts resolves d's maxSurge (rounded up) and maxUnavailable
// (rounded down) against its replicas, as Kubernetes does: percentages of
// spec.replicas, and if both come out zero, maxUnavailable becomes 1 so a
// rollout can progress. A Recreate deployment has neither.
func Fenceposts(d *appsv1.Deployment) (surge, unavailable int32) {
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate == nil {
		return 0, 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	n := int(Replicas(d))
	s, err1 := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxSurge, intstr.FromString("25%")), n, true)
	u, err2 := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxUnavailable, intstr.FromString("25%")), n, false)
	if err1 != nil || err2 != nil {
		// Validation refuses malformed values; be safe if one slips by.
		return 0, 1
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(min(u, n))
}

// RollingStep is one step of a RollingUpdate, as Kubernetes takes it:
// scale the new ReplicaSet up as far as maxSurge allows; if it cannot grow,
// scale old ReplicaSets down as far as maxUnavailable allows, first their
// unavailable pods, then available ones, oldest ReplicaSet first. At every
// step the pods of all ReplicaSets stay within replicas+maxSurge and the
// available ones at or above replicas-maxUnavailable. olds must be sorted
// oldest first.
func RollingStep(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) Plan {
	want := Replicas(d)
	surge, unavailable := Fenceposts(d)
	plan := Plan{New: replicasOf(newRS)}
	all := append([]*appsv1.ReplicaSet{newRS}, olds...)
	switch cur := replicasOf(newRS); {
	case cur > want:
		plan.New = want
		return plan
	case cur < want:
		var pods int32
		for _, rs := range all {
			pods += podsOf(rs)
		}
		if room := want + surge - pods; room > 0 {
			plan.New = cur + min(room, want-cur)
			return plan
		}
	}
	var oldReplicas, allReplicas int32
	for _, rs := range olds {
		oldReplicas += replicasOf(rs)
	}
	if oldReplicas == 0 {
		return plan
	}
	for _, rs := range all {
		allReplicas += replicasOf(rs)
	}
	minAvailable := want - unavailable
	newUnavailable := replicasOf(newRS) - availableOf(newRS)
	budget := allReplicas - minAvailable - newUnavailable
	if budget <= 0 {
		return plan
	}
	plan.Old = map[string]int32{}
	next := make([]int32, len(olds))
	// Unavailable pods of old ReplicaSets go first: removing them costs
	// no availability.
	for i, rs := range olds {
		next[i] = replicasOf(rs)
		unhealthy := next[i] - availableOf(rs)
		if budget <= 0 || unhealthy <= 0 {
			continue
		}
		cut := min(budget, unhealthy)
		next[i] -= cut
		budget -= cut
	}
	var available int32
	for _, rs := range all {
		available += availableOf(rs)
	}
	if excess := available - minAvailable; excess > 0 {
		for i := range olds {
			cut := min(next[i], excess)
			next[i] -= cut
			excess -= cut
		}
	}
	for i, rs := range olds {
		if next[i] != replicasOf(rs) {
			plan.Old[rs.Name] = next[i]
		}
	}
	if len(plan.Old) == 0 {
		plan.Old = nil
	}
	return plan
}

// RecreateStep is one step of a Recreate rollout: scale every old
// ReplicaSet to zero; once none has pods left (oldPods counts the pods
// that still exist), scale the new one to replicas.
func RecreateStep(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet, oldPods int) Plan {
	plan := Plan{New: replicasOf(newRS), Old: map[string]int32{}}
	for _, rs := range olds {
		if replicasOf(rs) > 0 {
			plan.Old[rs.Name] = 0
		}
	}
	if len(plan.Old) > 0 {
		return plan
	}
	plan.Old = nil
	if oldPods == 0 {
		plan.New = Replicas(d)
	}
	return plan
}

// ScalingEvent reports whether spec.replicas changed since the active
// ReplicaSets were last scaled for d (their desired-replicas annotation).
func ScalingEvent(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) bool {
	for _, rs := range rss {
		if rs == nil || replicasOf(rs) == 0 {
			continue
		}
		v, ok := rs.Annotations[DesiredReplicasAnnotation]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || int32(n) != Replicas(d) {
			return true
		}
	}
	return false
}

// Scale spreads a change of spec.replicas over the ReplicaSets, as
// Kubernetes' proportional scaling does: with a single active ReplicaSet
// (or none) it takes the new size; during a rolling update each active
// ReplicaSet gets a share of the difference in proportion to its size, the
// rounding leftover going to the largest. The result maps names to new
// spec.replicas; newRS may be nil.
func Scale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) map[string]int32 {
	want := Replicas(d)
	var active []*appsv1.ReplicaSet
	for _, rs := range append([]*appsv1.ReplicaSet{newRS}, olds...) {
		if rs != nil && replicasOf(rs) > 0 {
			active = append(active, rs)
		}
	}
	switch {
	case len(active) == 0:
		target := newRS
		if target == nil && len(olds) > 0 {
			target = olds[len(olds)-1]
		}
		if target == nil || replicasOf(target) == want {
			return nil
		}
		return map[string]int32{target.Name: want}
	case len(active) == 1:
		if replicasOf(active[0]) == want {
			return nil
		}
		return map[string]int32{active[0].Name: want}
	case newRS != nil && replicasOf(newRS) == want && availableOf(newRS) == want:
		out := map[string]int32{}
		for _, rs := range olds {
			if replicasOf(rs) > 0 {
				out[rs.Name] = 0
			}
		}
		return out
	}
	surge, _ := Fenceposts(d)
	allowed := want + surge
	if want == 0 {
		allowed = 0
	}
	var total int32
	for _, rs := range active {
		total += replicasOf(rs)
	}
	delta := allowed - total
	if delta == 0 {
		return nil
	}
	// Largest first; ties go to the newer when growing, the older when
	// shrinking, as Kubernetes sorts them.
	slices.SortStableFunc(active, func(a, b *appsv1.ReplicaSet) int {
		if ra, rb := replicasOf(a), replicasOf(b); ra != rb {
			return int(rb - ra)
		}
		c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time)
		if delta > 0 {
			return -c
		}
		return c
	})
	out := map[string]int32{}
	var given int32
	for _, rs := range active {
		share := int32(math.Round(float64(replicasOf(rs)) * float64(delta) / float64(total)))
		if delta > 0 {
			share = min(share, delta-given)
		} else {
			share = max(share, delta-given)
		}
		out[rs.Name] = replicasOf(rs) + share
		given += share
	}
	if left := delta - given; left != 0 {
		out[active[0].Name] += left
	}
	for _, rs := range active {
		out[rs.Name] = max(out[rs.Name], 0)
		if out[rs.Name] == replicasOf(rs) {
			delete(out, rs.Name)
		}
	}
	return out
}
