package controller_test

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// TestLeaderKilledMidRollout kills the leader (and with it the running
// controllers) in the middle of a rolling update. The next leader's
// controllers finish the rollout with exactly the desired pods, and a
// watch through a surviving server never sees more than replicas+maxSurge
// pods: the new controllers start from a fresh list, and the old ones'
// late writes are fenced.
func TestLeaderKilledMidRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := testcluster.Start(t, testcluster.Options{Servers: 3, Controllers: true})
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	survivor := (leader + 1) % c.N()
	kc, err := kubernetes.NewForConfig(c.RestConfig(survivor))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{c: c, kc: kc}
	const ns = "failover"
	kubelet := e.namespace(t, ctx, ns)
	const replicas, surge = 10, 2
	waitFor(t, ctx, "the deployment created", func() bool {
		// Through a follower under load a write may time out; it is
		// retried, and a retry of a write that did land finds it.
		_, err := kc.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", replicas, intstr.FromInt32(surge), intstr.FromInt32(1), "app:v1"), metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	waitRolledOut(t, ctx, kc, ns, "web")
	tally := tallyPods(t, ctx, kc, ns)
	// Hold readiness so the rollout is surely under way when the leader
	// dies: the first surge pods exist but are not ready.
	kubelet.Hold(true)
	setImage(t, ctx, kc, ns, "web", "app:v2", nil)
	waitFor(t, ctx, "the first new pods", func() bool {
		list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) > replicas
	})
	c.KillServer(leader)
	kubelet.Hold(false)
	d := waitRolledOut(t, ctx, kc, ns, "web")
	if _, err := c.Leader(ctx); err != nil {
		t.Fatal(err)
	}
	maxPods, minReady, _ := tally.finish()
	if maxPods > replicas+surge {
		t.Errorf("saw %d pods at once across the leader change, more than %d", maxPods, replicas+surge)
	}
	if minReady < replicas-1 {
		t.Errorf("saw %d ready pods, fewer than %d", minReady, replicas-1)
	}
	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != replicas || d.Status.Replicas != replicas {
		t.Fatalf("after the rollout: %d pods, status.replicas %d; want %d", len(list.Items), d.Status.Replicas, replicas)
	}
	for _, p := range list.Items {
		if p.Spec.Containers[0].Image != "app:v2" {
			t.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
}
