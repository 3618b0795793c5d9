package nodelifecycle

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Liveness is an optional second opinion on a node, such as gossip
// membership. Alive reports whether the node is alive; known is false when
// the source has no opinion about it, and then only the Lease counts.
// Implementations must be safe for concurrent use.
type Liveness interface {
	Alive(node string) (alive bool, known bool)
}

// ZoneLabel groups nodes for the disruption rule; nodes without it form
// one zone, "".
const ZoneLabel = corev1.LabelTopologyZone

// ReasonUnknown is the reason of the Ready=Unknown condition this
// controller writes, Kubernetes' spelling.
const ReasonUnknown = "NodeStatusUnknown"

// Params are the timing rules of a decision.
type Params struct {
	// LeaseGrace is how long a node may go without a heartbeat before it
	// is unreachable.
	LeaseGrace time.Duration
	// StartupGrace is how long after the controller started it judges no
	// node, so a new leader does not act on heartbeats it has not had
	// time to see.
	StartupGrace time.Duration
	// DefaultToleration is how long a pod without a toleration for the
	// unreachable NoExecute taint stays on a tainted node.
	DefaultToleration time.Duration
}

// NodeInput is one node as the decision sees it.
type NodeInput struct {
	Node *corev1.Node
	// LastSeen is when the controller last saw the node's heartbeat
	// advance, or first saw the node.
	LastSeen time.Time
	// Dead is true when the liveness source declares the node dead.
	Dead bool
}

// Input is everything Decide reads.
type Input struct {
	Now     time.Time
	Started time.Time // when this controller instance started
	Nodes   []NodeInput
	Pods    []*corev1.Pod // pods bound to the nodes; others are ignored
	Params
}

// NodeAction is a write a node needs.
type NodeAction struct {
	Node string
	// MarkUnknown asks for the node's conditions to become Unknown.
	MarkUnknown bool
	// Taints is the node's full desired taint list when it differs from
	// the current one; nil means leave the taints alone.
	Taints []corev1.Taint
	// Reachable is the verdict the action follows from.
	Reachable bool
}

// Eviction is a pod due for deletion from an unreachable node.
type Eviction struct {
	Pod  types.NamespacedName
	UID  types.UID
	Node string
}

// Disruption is a zone in which more than half the nodes are unreachable;
// its nodes keep the NoSchedule taint but lose the NoExecute one, so no
// pod is evicted there, as Kubernetes does in FullDisruption mode.
type Disruption struct {
	Zone               string
	Unreachable, Total int
}

// Decision is what Decide returns.
type Decision struct {
	Judged      bool // false during the startup grace: nothing is decided
	Nodes       []NodeAction
	Evictions   []Eviction
	Disruptions []Disruption
	// Unreachable lists the nodes judged unreachable, sorted.
	Unreachable []string
}

// The taints this controller owns. Their TimeAdded is set when added.
var (
	taintNoExecute  = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	taintNoSchedule = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
)

// Decide returns the writes due at in.Now. It is a pure function of its
// input.
func Decide(in Input) Decision {
	if in.Now.Before(in.Started.Add(in.StartupGrace)) {
		return Decision{}
	}
	d := Decision{Judged: true}
	unreachable := map[string]bool{}
	total, down := map[string]int{}, map[string]int{}
	for _, n := range in.Nodes {
		zone := n.Node.Labels[ZoneLabel]
		total[zone]++
		if n.Dead || in.Now.Sub(n.LastSeen) > in.LeaseGrace {
			unreachable[n.Node.Name] = true
			down[zone]++
			d.Unreachable = append(d.Unreachable, n.Node.Name)
		}
	}
	slices.Sort(d.Unreachable)
	disrupted := map[string]bool{}
	for zone, t := range total {
		if down[zone]*2 > t {
			disrupted[zone] = true
			d.Disruptions = append(d.Disruptions, Disruption{Zone: zone, Unreachable: down[zone], Total: t})
		}
	}
	slices.SortFunc(d.Disruptions, func(a, b Disruption) int { return strings.Compare(a.Zone, b.Zone) })

	evictable := map[string]corev1.Taint{} // node → its NoExecute taint, when evictions may run
	for _, n := range in.Nodes {
		name := n.Node.Name
		act := NodeAction{Node: name, Reachable: !unreachable[name]}
		var want []corev1.Taint
		if unreachable[name] {
			act.MarkUnknown = readyStatus(n.Node) != corev1.ConditionUnknown
			want = append(want, taintNoSchedule)
			if !disrupted[n.Node.Labels[ZoneLabel]] {
				want = append(want, taintNoExecute)
			}
		}
		act.Taints = reconcileTaints(n.Node.Spec.Taints, want, in.Now)
		if act.MarkUnknown || act.Taints != nil {
			d.Nodes = append(d.Nodes, act)
		}
		// Evictions follow the taint as stored: its TimeAdded starts the
		// toleration clock, and it survives a leader change.
		if t, ok := findTaint(n.Node.Spec.Taints, taintNoExecute); ok && unreachable[name] && !disrupted[n.Node.Labels[ZoneLabel]] {
			evictable[name] = t
		}
	}
	for _, p := range in.Pods {
		t, ok := evictable[p.Spec.NodeName]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		if due, ok := evictionDue(p, t, in.DefaultToleration); ok && !in.Now.Before(due) {
			d.Evictions = append(d.Evictions, Eviction{Pod: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, UID: p.UID, Node: p.Spec.NodeName})
		}
	}
	return d
}

// readyStatus returns the status of the node's Ready condition, "" if it
// has none.
func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// owned reports whether t is one of this controller's taints.
func owned(t corev1.Taint) bool {
	return t.MatchTaint(&taintNoExecute) || t.MatchTaint(&taintNoSchedule)
}

func findTaint(ts []corev1.Taint, want corev1.Taint) (corev1.Taint, bool) {
	for _, t := range ts {
		if t.MatchTaint(&want) {
			return t, true
		}
	}
	return corev1.Taint{}, false
}

// reconcileTaints returns the node's taints with this controller's taints
// set to want (others untouched, existing ones keeping their TimeAdded),
// or nil when that is what the node has.
func reconcileTaints(cur, want []corev1.Taint, now time.Time) []corev1.Taint {
	var out []corev1.Taint
	changed := false
	for _, t := range cur {
		if owned(t) && !slices.ContainsFunc(want, func(w corev1.Taint) bool { return t.MatchTaint(&w) }) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, w := range want {
		if _, ok := findTaint(cur, w); !ok {
			w.TimeAdded = timeAdded(now)
			out = append(out, w)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if out == nil {
		out = []corev1.Taint{}
	}
	return out
}

// evictionDue returns when pod must leave a node tainted with t: the
// taint's time plus the pod's tolerationSeconds, or plus def when the pod
// does not tolerate it. ok is false when the pod tolerates it forever.
func evictionDue(p *corev1.Pod, t corev1.Taint, def time.Duration) (due time.Time, ok bool) {
	wait := def
	for _, tol := range p.Spec.Tolerations {
		if !tolerates(tol, t) {
			continue
		}
		if tol.TolerationSeconds == nil {
			return time.Time{}, false
		}
		wait = max(0, time.Duration(*tol.TolerationSeconds)*time.Second)
		break
	}
	if t.TimeAdded == nil {
		// A taint without a time was not written by this controller and
		// starts no toleration clock.
		return time.Time{}, false
	}
	return t.TimeAdded.Add(wait), true
}

// timeAdded is the TimeAdded of a new taint: now rounded up to a whole
// second, since the API keeps whole seconds. Rounding down would make a
// pod's toleration up to a second short; rounding up makes it up to a
// second long, so no pod is evicted early.
func timeAdded(now time.Time) *metav1.Time {
	up := now.Truncate(time.Second)
	if up.Before(now) {
		up = up.Add(time.Second)
	}
	t := metav1.NewTime(up)
	return &t
}

// tolerates reports whether tol matches taint, by the API's rules for the
// Equal and Exists operators (the comparison operators never match an
// unreachable taint, which has no value).
func tolerates(tol corev1.Toleration, taint corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}
