package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkDeployment1000 converges a 1,000-replica deployment on a
// three-server cluster whose leader runs the controllers, with the
// benchmark acting as kubelet (pods marked Running and Ready as soon as
// they appear), then rolls it to a new image (maxSurge and maxUnavailable
// 25%). It reports seconds to all available and to the rollout's end.
// Run with -benchtime=1x: one iteration is a whole deployment's life.
func BenchmarkDeployment1000(b *testing.B) {
	const replicas = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := startEnv(b, ctx)
	e.namespace(b, ctx, "bench")
	var converge, rollout time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("big-%d", i)
		d := newDeployment(name, replicas, intstr.FromString("25%"), intstr.FromString("25%"), "app:v1")
		start := time.Now()
		if _, err := e.kc.AppsV1().Deployments("bench").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		benchRolledOut(b, ctx, e, name, "app:v1")
		converge += time.Since(start)
		start = time.Now()
		for {
			cur, err := e.kc.AppsV1().Deployments("bench").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			cur.Spec.Template.Spec.Containers[0].Image = "app:v2"
			if _, err = e.kc.AppsV1().Deployments("bench").Update(ctx, cur, metav1.UpdateOptions{}); err == nil {
				break
			} else if !apierrors.IsConflict(err) {
				b.Fatal(err)
			}
		}
		benchRolledOut(b, ctx, e, name, "app:v2")
		rollout += time.Since(start)
		b.StopTimer()
		bg := metav1.DeletePropagationForeground
		if err := e.kc.AppsV1().Deployments("bench").Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			b.Fatal(err)
		}
		waitFor(b, ctx, "the deployment gone", func() bool {
			_, err := e.kc.AppsV1().Deployments("bench").Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(converge.Seconds()/n, "s-to-available")
	b.ReportMetric(rollout.Seconds()/n, "s-rollout")
	b.Logf("1000 replicas: all available after %v, rolling update done after %v (mean of %d)", converge/time.Duration(b.N), rollout/time.Duration(b.N), b.N)
}

// benchRolledOut polls, every 100 ms for up to ten minutes, until the
// deployment is rolled out to image.
func benchRolledOut(b *testing.B, ctx context.Context, e *env, name, image string) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := e.kc.AppsV1().Deployments("bench").Get(ctx, name, metav1.GetOptions{})
		if err == nil && d.Spec.Template.Spec.Containers[0].Image == image {
			if _, ok := rolledOut(d); ok && progressedFully(d) {
				return
			}
		}
		select {
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.Fatalf("deployment %s not rolled out to %s in time", name, image)
}

func progressedFully(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			return c.Reason == "NewReplicaSetAvailable"
		}
	}
	return false
}
