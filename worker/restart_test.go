package worker_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/controller/nodelifecycle"
	"github.com/skiffhq/skiff/testcluster"
)

// TestRestartKeepsNodeReachable restarts a worker under the real node
// lifecycle controller and watches its Node throughout: a stop does not
// leave gossip, so a worker back within the failure-detection window is
// never judged unreachable, and nothing of its gets evicted.
func TestRestartKeepsNodeReachable(t *testing.T) {
	clusterStart := time.Now()
	e := newBareEnvWith(t, testcluster.Options{Controllers: true})
	e.startWorker(t)
	t.Cleanup(func() {
		e.drain(t)
		e.stopWorker()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e.waitFor(t, "node w1 Ready", 30*time.Second, func() bool {
		n, err := e.admin.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
		return err == nil && nodeReady(n) && !hasTaint(n, corev1.TaintNodeUnreachable)
	})
	w, err := e.admin.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", "w1").String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// The controller judges no node for its startup grace after a leader
	// starts it; a restart inside that window would prove nothing. This
	// waits out a known period, not a state.
	select {
	case <-time.After(time.Until(clusterStart.Add(nodelifecycle.DefaultLeaseGrace + 2*time.Second))):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	e.stopWorker()
	start := time.Now()
	// The worker stays down as long as a quick restart keeps it: again a
	// known period.
	select {
	case <-time.After(restartGap):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	e.startWorker(t)
	// The new worker renews the Lease; watch until the node has been
	// through a full lifecycle judgement after the restart: the Lease
	// grace (5 s) past the stop with the node Ready all along.
	until := time.NewTimer(8 * time.Second)
	defer until.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("node watch ended")
			}
			n, isNode := ev.Object.(*corev1.Node)
			if ev.Type == watch.Error || !isNode {
				t.Fatalf("node watch: %v", ev.Object)
			}
			if hasTaint(n, corev1.TaintNodeUnreachable) || !nodeReady(n) {
				t.Fatalf("%v after the stop, node w1 is unreachable or not Ready: taints %v", time.Since(start).Round(time.Millisecond), n.Spec.Taints)
			}
		case <-until.C:
			return
		}
	}
}

// restartGap is how long TestRestartKeepsNodeReachable keeps the worker
// down. The new worker must also renew its Lease within the grace, and
// building its runtime and registering took up to 2.5 s under -race in
// CI, so the gap leaves room for that.
const restartGap = time.Second

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, tn := range n.Spec.Taints {
		if tn.Key == key {
			return true
		}
	}
	return false
}
