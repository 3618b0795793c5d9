package worker

import (
	"context"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiffhq/skiff/config"
)

// TestSyncNodeStatusRepairsWhatOthersWrote: the node lifecycle controller
// can set the conditions to Unknown just after a restarted worker wrote
// Ready=True. The worker's next status sync must compare with the stored
// Node, not with its own last write, or the node stays Unknown (and
// unschedulable) for good; a Node already as the worker sees it is not
// written.
func TestSyncNodeStatusRepairsWhatOthersWrote(t *testing.T) {
	ctx := context.Background()
	cfg := config.DefaultWorker()
	cfg.Name = "w1"
	w := &Worker{cfg: cfg, rt: newFakeRuntime(), log: slog.New(slog.DiscardHandler), node: nodeSpec{address: "192.0.2.1"}}
	version, err := w.runtimeVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	written := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Status: w.node.status(version, nil, metav1.Now())}

	for _, tc := range []struct {
		name      string
		stored    corev1.ConditionStatus // Ready as stored when the sync runs
		wantWrite bool
	}{
		{"unchanged", corev1.ConditionTrue, false},
		{"controller set Unknown", corev1.ConditionUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored := written.DeepCopy()
			for i := range stored.Status.Conditions {
				if stored.Status.Conditions[i].Type == corev1.NodeReady {
					stored.Status.Conditions[i].Status = tc.stored
				}
			}
			client := fake.NewSimpleClientset(stored)
			w.client = client
			got := w.syncNodeStatus(ctx, written)
			writes := 0
			for _, a := range client.Actions() {
				if a.GetVerb() == "update" {
					writes++
				}
			}
			if (writes > 0) != tc.wantWrite {
				t.Fatalf("%d status writes, want a write: %v", writes, tc.wantWrite)
			}
			n, err := client.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, node := range []*corev1.Node{n, got} {
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
						t.Fatalf("Ready=%s after the sync, want True", c.Status)
					}
				}
			}
		})
	}
}
