package apiserver_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkWrites measures what managedFields bookkeeping costs a write,
// through the handler over the in-memory store: creates and updates
// (operation Update entries) and applies of a Deployment (changed, and
// unchanged, which writes nothing). It prints per-write time and
// allocations; run it on a branch without managedFields to compare.
func BenchmarkWrites(b *testing.B) {
	ctx := context.Background()
	b.Run("create-configmap", func(b *testing.B) {
		cs, _ := newApplyClient(b)
		// The first write builds the type converter: not what a write costs.
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "warm"}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"k": "v"}}
			if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update-configmap", func(b *testing.B) {
		cs, _ := newApplyClient(b)
		cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			cm.Data = map[string]string{"k": fmt.Sprint(i)}
			if cm, err = cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	if !applyServed {
		return
	}
	b.Run("apply-deployment-changed", func(b *testing.B) {
		cs, _ := newApplyClient(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(int32(1+i%2), "nginx:1"), metav1.ApplyOptions{FieldManager: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply-deployment-unchanged", func(b *testing.B) {
		cs, _ := newApplyClient(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(2, "nginx:1"), metav1.ApplyOptions{FieldManager: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// applyServed: this branch serves server-side apply.
const applyServed = true
