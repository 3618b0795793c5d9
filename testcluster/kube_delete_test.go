package testcluster_test

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeGracefulPodDelete checks pod deletion through client-go: a pod
// bound to a node stays, marked for deletion with the default grace
// period, until a delete with grace period 0 (the node's confirmation)
// removes it; an unbound pod goes at once.
func TestKubeGracefulPodDelete(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 30*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}, SchedulerName: manualScheduler}
	for _, name := range []string{"bound", "unbound"} {
		if _, err := kcs[0].CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := kcs[1].CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	if err := kcs[2].CoreV1().Pods(ns).Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := kcs[0].CoreV1().Pods(ns).Get(ctx, "bound", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bound pod after a graceful delete: %v", err)
	}
	if pod.DeletionTimestamp == nil || pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds != corev1.DefaultTerminationGracePeriodSeconds {
		t.Fatalf("bound pod after a graceful delete: %s grace %v", metaSummary(pod), pod.DeletionGracePeriodSeconds)
	}
	// The deletion timestamp is when the grace period ends.
	if ends := pod.DeletionTimestamp.Time; ends.Before(before.Add(29*time.Second).Truncate(time.Second)) || ends.After(time.Now().Add(31*time.Second)) {
		t.Errorf("deletionTimestamp %v is not 30s after the delete at %v", ends, before)
	}
	// Deleting again with the default grace period changes nothing; a
	// longer one never extends it.
	if err := kcs[1].CoreV1().Pods(ns).Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](60)}); err != nil {
		t.Fatal(err)
	}
	again, err := kcs[2].CoreV1().Pods(ns).Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || *again.DeletionGracePeriodSeconds != 30 || !again.DeletionTimestamp.Equal(pod.DeletionTimestamp) {
		t.Fatalf("second graceful delete: %v %s grace %v", err, metaSummary(again), again.DeletionGracePeriodSeconds)
	}
	if err := kcs[0].CoreV1().Pods(ns).Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := kcs[1].CoreV1().Pods(ns).Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("bound pod after a delete with grace period 0: %v, want NotFound", err)
	}

	if err := kcs[2].CoreV1().Pods(ns).Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kcs[0].CoreV1().Pods(ns).Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unbound pod after delete: %v, want NotFound", err)
	}
}

// TestKubeFinalizers checks that an object with finalizers is only marked
// by a delete and goes when an update removes the last finalizer, and
// that propagationPolicy=Orphan adds the orphan finalizer.
func TestKubeFinalizers(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 30*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	const finalizer = "example.com/hold"

	for _, tc := range []struct {
		name       string
		finalizers []string
		opts       metav1.DeleteOptions
		want       []string // finalizers after the delete
	}{
		{"finalizer", []string{finalizer}, metav1.DeleteOptions{}, []string{finalizer}},
		{"orphan", nil, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}, []string{metav1.FinalizerOrphanDependents}},
		{"finalizer-orphan", []string{finalizer}, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}, []string{finalizer, metav1.FinalizerOrphanDependents}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: tc.name, Finalizers: tc.finalizers}}
			if _, err := kcs[0].CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := kcs[1].CoreV1().ConfigMaps(ns).Delete(ctx, tc.name, tc.opts); err != nil {
				t.Fatal(err)
			}
			marked, err := kcs[2].CoreV1().ConfigMaps(ns).Get(ctx, tc.name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("after delete: %v", err)
			}
			if marked.DeletionTimestamp == nil || !slices.Equal(marked.Finalizers, tc.want) {
				t.Fatalf("after delete: %s finalizers %v, want a deletion timestamp and %v", metaSummary(marked), marked.Finalizers, tc.want)
			}
			// Deleting a marked object again keeps it marked.
			if err := kcs[0].CoreV1().ConfigMaps(ns).Delete(ctx, tc.name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			// Removing all but one finalizer keeps it; removing the last
			// one deletes it.
			for len(marked.Finalizers) > 0 {
				marked.Finalizers = marked.Finalizers[1:]
				upd, err := kcs[1].CoreV1().ConfigMaps(ns).Update(ctx, marked, metav1.UpdateOptions{})
				if len(marked.Finalizers) > 0 {
					if err != nil || upd.DeletionTimestamp == nil {
						t.Fatalf("update removing one finalizer: %v", err)
					}
					marked = upd
					continue
				}
				if err != nil {
					t.Fatalf("update removing the last finalizer: %v", err)
				}
			}
			if _, err := kcs[2].CoreV1().ConfigMaps(ns).Get(ctx, tc.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("after the last finalizer went: %v, want NotFound", err)
			}
		})
	}
}
