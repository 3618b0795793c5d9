package nodelifecycle

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var params = Params{LeaseGrace: 5 * time.Second, StartupGrace: 5 * time.Second, DefaultToleration: 2 * time.Second}

// nodeAt is a node, its zone, its Ready status, and its taints by effect
// with the offset from t0 they were added at.
type nodeAt struct {
	name, zone string
	ready      corev1.ConditionStatus
	taints     map[corev1.TaintEffect]time.Duration
	seenAgo    time.Duration // LastSeen = now - seenAgo
	dead       bool
}

func (n nodeAt) input(now time.Time) NodeInput {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{}}}
	if n.zone != "" {
		node.Labels[ZoneLabel] = n.zone
	}
	if n.ready != "" {
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: n.ready}}
	}
	node.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
	for eff, at := range n.taints {
		added := metav1.NewTime(t0.Add(at))
		node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: eff, TimeAdded: &added})
	}
	return NodeInput{Node: node, LastSeen: now.Add(-n.seenAgo), Dead: n.dead}
}

func podOn(name, node string, edit ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)}, Spec: corev1.PodSpec{NodeName: node}}
	for _, e := range edit {
		e(p)
	}
	return p
}

func tolerating(secs *int64) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}}
	}
}

// render summarises a decision: "n1:unknown+NoSchedule,NoExecute",
// "n2:taints=" for a taint removal, "evict ns/p", "disrupted z 2/3".
func render(d Decision) []string {
	out := []string{}
	if !d.Judged {
		return []string{"not judged"}
	}
	for _, a := range d.Nodes {
		s := a.Node + ":"
		if a.MarkUnknown {
			s += "unknown"
		}
		if a.Taints != nil {
			s += "+"
			for i, t := range a.Taints {
				if t.Key != corev1.TaintNodeUnreachable {
					continue
				}
				if i > 1 {
					s += ","
				}
				s += string(t.Effect)
			}
		}
		out = append(out, s)
	}
	for _, e := range d.Evictions {
		out = append(out, "evict "+e.Pod.String())
	}
	for _, z := range d.Disruptions {
		out = append(out, fmt.Sprintf("disrupted %q %d/%d", z.Zone, z.Unreachable, z.Total))
	}
	return out
}

func TestDecide(t *testing.T) {
	noExec := corev1.TaintEffectNoExecute
	noSched := corev1.TaintEffectNoSchedule
	tainted := map[corev1.TaintEffect]time.Duration{noExec: 0, noSched: 0}
	healthy := func(name string) nodeAt {
		return nodeAt{name: name, ready: corev1.ConditionTrue, seenAgo: time.Second}
	}
	tests := []struct {
		name  string
		now   time.Duration // since t0; the controller started at t0
		nodes []nodeAt
		pods  []*corev1.Pod
		want  []string
	}{
		{name: "startup grace judges nobody", now: 4 * time.Second,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionTrue, seenAgo: time.Hour}, healthy("n2"), healthy("n3")},
			want:  []string{"not judged"}},
		{name: "heartbeating nodes cost nothing", now: time.Minute,
			nodes: []nodeAt{healthy("n1"), healthy("n2")}, want: []string{}},
		{name: "expired lease: unknown and tainted", now: time.Minute,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionTrue, seenAgo: 6 * time.Second}, healthy("n2"), healthy("n3")},
			want:  []string{"n1:unknown+NoSchedule,NoExecute"}},
		{name: "grace not yet over", now: time.Minute,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionTrue, seenAgo: 5 * time.Second}, healthy("n2")},
			want:  []string{}},
		{name: "already unknown and tainted: no write", now: time.Second * 61,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: tainted}, healthy("n2"), healthy("n3")},
			want:  []string{}},
		{name: "gossip dead despite a fresh lease", now: time.Minute,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionTrue, seenAgo: time.Second, dead: true}, healthy("n2"), healthy("n3")},
			want:  []string{"n1:unknown+NoSchedule,NoExecute"}},
		{name: "returning node loses only our taints", now: time.Minute,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Second, taints: tainted}, healthy("n2")},
			want:  []string{"n1:+"}},
		{name: "evictions follow tolerations", now: 3*time.Second + 10*time.Second,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Minute,
				taints: map[corev1.TaintEffect]time.Duration{noExec: 10 * time.Second, noSched: 10 * time.Second}}, healthy("n2"), healthy("n3")},
			pods: []*corev1.Pod{
				podOn("default-toleration", "n1"),
				podOn("tolerates-3s", "n1", tolerating(ptr.To[int64](3))),
				podOn("tolerates-4s", "n1", tolerating(ptr.To[int64](4))),
				podOn("tolerates-forever", "n1", tolerating(nil)),
				podOn("terminating", "n1", func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(t0)) }),
				podOn("elsewhere", "n2"),
			},
			want: []string{"evict ns/default-toleration", "evict ns/tolerates-3s"}},
		{name: "default toleration not yet over", now: 11 * time.Second,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: map[corev1.TaintEffect]time.Duration{noExec: 10 * time.Second, noSched: 10 * time.Second}},
				healthy("n2"), healthy("n3")},
			pods: []*corev1.Pod{podOn("p", "n1")}, want: []string{}},
		{name: "more than half unreachable: no NoExecute, no evictions", now: time.Minute,
			nodes: []nodeAt{
				{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: tainted},
				{name: "n2", ready: corev1.ConditionTrue, seenAgo: time.Minute}, healthy("n3")},
			pods: []*corev1.Pod{podOn("p", "n1"), podOn("q", "n2")},
			want: []string{"n1:+NoSchedule", "n2:unknown+NoSchedule", `disrupted "" 2/3`}},
		{name: "half unreachable still evicts", now: time.Minute,
			nodes: []nodeAt{{name: "n1", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: tainted}, healthy("n2")},
			pods:  []*corev1.Pod{podOn("p", "n1")},
			want:  []string{"evict ns/p"}},
		{name: "disruption is judged per zone", now: time.Minute,
			nodes: []nodeAt{
				{name: "a1", zone: "a", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: tainted},
				{name: "a2", zone: "a", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: map[corev1.TaintEffect]time.Duration{noSched: 0}},
				{name: "b1", zone: "b", ready: corev1.ConditionUnknown, seenAgo: time.Minute, taints: tainted},
				{name: "b2", zone: "b", ready: corev1.ConditionTrue, seenAgo: time.Second},
				{name: "b3", zone: "b", ready: corev1.ConditionTrue, seenAgo: time.Second}},
			pods: []*corev1.Pod{podOn("pa", "a1"), podOn("pb", "b1")},
			want: []string{"a1:+NoSchedule", "evict ns/pb", `disrupted "a" 2/2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.now)
			in := Input{Now: now, Started: t0, Pods: tt.pods, Params: params}
			for _, n := range tt.nodes {
				in.Nodes = append(in.Nodes, n.input(now))
			}
			got := render(Decide(in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestDecideNewTaintTime checks that a new taint carries the decision's
// time rounded up to a second and that other taints are kept.
func TestDecideNewTaintTime(t *testing.T) {
	now := t0.Add(time.Minute + 300*time.Millisecond)
	n := nodeAt{name: "n1", ready: corev1.ConditionTrue, seenAgo: time.Minute}.input(now)
	ok := nodeAt{name: "n2", ready: corev1.ConditionTrue, seenAgo: time.Second}.input(now)
	d := Decide(Input{Now: now, Started: t0, Nodes: []NodeInput{n, ok, nodeAt{name: "n3", seenAgo: 0}.input(now)}, Params: params})
	if len(d.Nodes) != 1 || len(d.Nodes[0].Taints) != 3 {
		t.Fatalf("actions %+v", d.Nodes)
	}
	if d.Nodes[0].Taints[0].Key != "dedicated" {
		t.Errorf("foreign taint lost: %+v", d.Nodes[0].Taints)
	}
	for _, tn := range d.Nodes[0].Taints[1:] {
		if !tn.TimeAdded.Time.Equal(t0.Add(time.Minute + time.Second)) {
			t.Errorf("taint %v added at %v", tn.Key, tn.TimeAdded)
		}
	}
}
