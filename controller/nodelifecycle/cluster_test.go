package nodelifecycle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/controller/nodelifecycle"
	"github.com/skiffhq/skiff/internal/controllertest"
	"github.com/skiffhq/skiff/testcluster"
)

// Timings short enough for a test, in the proportions of the defaults;
// the grace is 15 heartbeats so a loaded machine that delays a few does
// not make a healthy node look dead.
const (
	leaseGrace  = 3 * time.Second
	toleration  = time.Second
	heartbeat   = 200 * time.Millisecond
	monitorTick = 200 * time.Millisecond
)

// gossip is a liveness source the test sets by hand, standing in for the
// server's memberlist adapter.
type gossip struct {
	mu   sync.Mutex
	dead map[string]bool
}

func (g *gossip) Alive(node string) (bool, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	dead, known := g.dead[node]
	return !dead, known
}

func (g *gossip) set(node string, dead bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead[node] = dead
}

type env struct {
	kc       kubernetes.Interface
	ctx      context.Context
	kubelets *controllertest.Kubelets
	gossip   *gossip
	ns       string
}

// start runs a cluster, registers nodes with heartbeating kubelets and
// starts the controller on server 0 with test timings.
func start(t *testing.T, nodes ...string) env {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := controllertest.Context(t, 3*time.Minute)
	kc := controllertest.Client(t, c, 1)
	var objs []*corev1.Node
	for _, n := range nodes {
		objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	e := env{kc: kc, ctx: ctx, gossip: &gossip{dead: map[string]bool{}}}
	e.kubelets = controllertest.StartKubelets(t, ctx, kc, heartbeat, objs...)
	e.ns = controllertest.Namespace(t, ctx, kc)
	controllertest.Start(t, controllertest.Client(t, c, 0), func(env controllertest.Env) controllertest.Runner {
		return nodelifecycle.New(nodelifecycle.Config{Client: env.Client, Informers: env.Informers, Recorder: env.Recorder, Log: env.Log,
			Liveness: e.gossip, LeaseGrace: leaseGrace, DefaultToleration: toleration, MonitorPeriod: monitorTick})
	})
	return e
}

func (e env) pod(t *testing.T, name, node string, tolerationSecs *int64, tolerate bool) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "example/app:1"}}}}
	if tolerate {
		p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: tolerationSecs}}
	}
	err := controllertest.Create(e.ctx, func() error {
		_, err := e.kc.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// evicted reports whether the pod is deleted or being deleted.
func (e env) evicted(name string) bool {
	p, err := e.kc.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
}

// nodeState renders a node as "Unknown NoSchedule,NoExecute" (Ready
// status and its unreachable taints).
func (e env) nodeState(name string) string {
	n, err := e.kc.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	ready := "none"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = string(c.Status)
		}
	}
	taints := ""
	for _, tn := range n.Spec.Taints {
		if tn.Key == corev1.TaintNodeUnreachable {
			if taints != "" {
				taints += ","
			}
			taints += string(tn.Effect)
		}
	}
	return ready + " " + taints
}

func (e env) waitNode(t *testing.T, name, want string) {
	t.Helper()
	var got string
	if err := testcluster.WaitFor(e.ctx, func() bool { got = e.nodeState(name); return got == want }); err != nil {
		t.Fatalf("node %s: state %q, want %q", name, got, want)
	}
}

func (e env) waitEvicted(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := testcluster.WaitFor(e.ctx, func() bool { return e.evicted(n) }); err != nil {
			t.Fatalf("pod %s never evicted", n)
		}
	}
}

// TestNodeLifecycle: a node whose Lease stops being renewed, and one that
// gossip declares dead, become Ready=Unknown with both unreachable taints;
// the pods on the first are evicted after their toleration (the default
// one, their own seconds, never for a forever-toleration), pods elsewhere
// stay; returning nodes lose the taints; healthy nodes are never written.
func TestNodeLifecycle(t *testing.T) {
	e := start(t, "n1", "n2", "n3", "n4")
	e.pod(t, "default-toleration", "n1", nil, false)
	e.pod(t, "own-toleration", "n1", ptr.To[int64](3), true)
	e.pod(t, "forever", "n1", nil, true)
	e.pod(t, "healthy-node", "n2", nil, false)
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		e.waitNode(t, n, "True ")
	}
	n2, err := e.kc.CoreV1().Nodes().Get(e.ctx, "n2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	e.kubelets.Stop("n1")
	e.gossip.set("n3", true)
	e.waitNode(t, "n1", "Unknown NoSchedule,NoExecute")
	e.waitNode(t, "n3", "Unknown NoSchedule,NoExecute")
	e.waitEvicted(t, "default-toleration")
	if e.evicted("own-toleration") {
		t.Error("pod with a 3s toleration evicted together with the 1s default")
	}
	e.waitEvicted(t, "own-toleration")
	for _, p := range []string{"forever", "healthy-node"} {
		if e.evicted(p) {
			t.Errorf("pod %s evicted", p)
		}
	}

	if err := e.kubelets.Start(e.ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	e.gossip.set("n3", false)
	if err := e.kubelets.SetReady(e.ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	e.waitNode(t, "n1", "True ")
	e.waitNode(t, "n3", "True ")

	after, err := e.kc.CoreV1().Nodes().Get(e.ctx, "n2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != n2.ResourceVersion {
		t.Errorf("healthy node n2 was written: resourceVersion %s → %s\nbefore %+v %+v\nafter  %+v %+v", n2.ResourceVersion, after.ResourceVersion,
			n2.Spec, n2.Status.Conditions, after.Spec, after.Status.Conditions)
	}
}

// TestNodeLifecycleDisruption: when two of three nodes stop at once the
// zone is disrupted: they are marked Unknown with NoSchedule only, an
// EvictionsPaused event is recorded and their pods stay. When one
// returns, the other gets the NoExecute taint and its pods are evicted;
// the returned node's pods never are.
func TestNodeLifecycleDisruption(t *testing.T) {
	e := start(t, "n1", "n2", "n3")
	// The two nodes stop together, but the controller may see one expire
	// a pass before the other, when only one of three is down and the
	// normal rules apply; the pods' 5 s toleration outlasts that pass.
	e.pod(t, "on-n1", "n1", ptr.To[int64](5), true)
	e.pod(t, "on-n2", "n2", ptr.To[int64](5), true)
	for _, n := range []string{"n1", "n2", "n3"} {
		e.waitNode(t, n, "True ")
	}
	e.kubelets.Stop("n1")
	e.kubelets.Stop("n2")
	e.waitNode(t, "n1", "Unknown NoSchedule")
	e.waitNode(t, "n2", "Unknown NoSchedule")
	err := testcluster.WaitFor(e.ctx, func() bool {
		evs, err := e.kc.CoreV1().Events("").List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.Reason == "EvictionsPaused" {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal("no EvictionsPaused event")
	}
	for _, p := range []string{"on-n1", "on-n2"} {
		if e.evicted(p) {
			t.Fatalf("pod %s evicted during a disruption", p)
		}
	}

	if err := e.kubelets.Start(e.ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	e.waitNode(t, "n1", "Unknown NoSchedule,NoExecute")
	e.waitEvicted(t, "on-n1")
	e.waitNode(t, "n2", "True ")
	if e.evicted("on-n2") {
		t.Error("pod on the returned node evicted")
	}
}
