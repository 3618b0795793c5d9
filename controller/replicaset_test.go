package controller_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestReplicaSetAdoptsAndReleases checks selector ownership: an orphan pod
// the selector matches is adopted (so only the missing replica is made), a
// pod relabelled out of the selector is released and replaced, and
// scaling down deletes the unready pod first.
func TestReplicaSetAdoptsAndReleases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "adopt"
	kubelet := e.namespace(t, ctx, ns)
	lbl := map[string]string{"app": "rs"}
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: lbl},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app:v1"}}}}
	if _, err := e.kc.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	two := int32(2)
	rs, err := e.kc.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs"},
		Spec: appsv1.ReplicaSetSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: orphan.Spec}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := func() (mine, all []corev1.Pod) {
		list, err := e.kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			all = append(all, p)
			if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rs.UID {
				mine = append(mine, p)
			}
		}
		return mine, all
	}
	waitFor(t, ctx, "two ready replicas", func() bool {
		cur, err := e.kc.AppsV1().ReplicaSets(ns).Get(ctx, "rs", metav1.GetOptions{})
		return err == nil && cur.Status.ReadyReplicas == 2 && cur.Status.ObservedGeneration == cur.Generation
	})
	mine, all := owned()
	if len(mine) != 2 || len(all) != 2 {
		t.Fatalf("adoption: %d owned of %d pods, want 2 of 2", len(mine), len(all))
	}
	if p, err := e.kc.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{}); err != nil || metav1.GetControllerOf(p) == nil {
		t.Fatalf("the orphan was not adopted: %v", err)
	}

	// Relabel the orphan out of the selector: released and replaced.
	patch := []byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`)
	if _, err := e.kc.CoreV1().Pods(ns).Patch(ctx, "orphan", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "release and replacement", func() bool {
		mine, all := owned()
		p, err := e.kc.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		return err == nil && metav1.GetControllerOf(p) == nil && len(mine) == 2 && len(all) == 3
	})

	// Scale to 3 with the kubelet held: the new pod stays unready, and a
	// scale back to 2 deletes it rather than a ready one.
	kubelet.Hold(true)
	setReplicas := func(n int32) {
		waitFor(t, ctx, "scale", func() bool {
			cur, err := e.kc.AppsV1().ReplicaSets(ns).Get(ctx, "rs", metav1.GetOptions{})
			if err != nil {
				return false
			}
			cur.Spec.Replicas = &n
			_, err = e.kc.AppsV1().ReplicaSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err == nil
		})
	}
	setReplicas(3)
	var unready string
	waitFor(t, ctx, "a third, unready pod", func() bool {
		mine, _ := owned()
		for _, p := range mine {
			if !isReady(&p) {
				unready = p.Name
			}
		}
		return len(mine) == 3 && unready != ""
	})
	setReplicas(2)
	waitFor(t, ctx, "scale-down to 2", func() bool {
		mine, _ := owned()
		return len(mine) == 2
	})
	for _, p := range func() []corev1.Pod { m, _ := owned(); return m }() {
		if p.Name == unready {
			t.Fatalf("scale-down kept unready pod %s and deleted a ready one", unready)
		}
	}
	kubelet.Hold(false)
}
