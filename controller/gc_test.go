package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/controller/serviceaccount"
)

// TestCascadingDelete deletes a rolled-out deployment three ways and
// checks what the garbage collector leaves: nothing (background and
// foreground) or the replica sets and pods without their owner (orphan).
func TestCascadingDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "cascade"
	e.namespace(t, ctx, ns)
	for _, tc := range []struct {
		policy metav1.DeletionPropagation
		orphan bool
	}{
		{metav1.DeletePropagationBackground, false},
		{metav1.DeletePropagationForeground, false},
		{metav1.DeletePropagationOrphan, true},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			name := "app-" + strings.ToLower(string(tc.policy))
			d, err := e.kc.AppsV1().Deployments(ns).Create(ctx, newDeployment(name, 3, intstr.FromInt32(1), intstr.FromInt32(0), "app:v1"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			waitRolledOut(t, ctx, e.kc, ns, name)
			policy := tc.policy
			if err := e.kc.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "the deployment gone", func() bool {
				_, err := e.kc.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err)
			})
			sel := "app=" + name
			if !tc.orphan {
				waitFor(t, ctx, "replica sets and pods gone", func() bool {
					rss, err1 := e.kc.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
					pods, err2 := e.kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
					return err1 == nil && err2 == nil && len(rss.Items) == 0 && len(pods.Items) == 0
				})
				return
			}
			waitFor(t, ctx, "replica set orphaned", func() bool {
				rss, err := e.kc.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
				if err != nil || len(rss.Items) != 1 {
					return false
				}
				return len(rss.Items[0].OwnerReferences) == 0
			})
			pods, err := e.kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil || len(pods.Items) != 3 {
				t.Fatalf("orphaned replica set's pods: %v, %d", err, len(pods.Items))
			}
			for _, p := range pods.Items {
				if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID == d.UID {
					t.Errorf("pod %s: controller %v, want its replica set", p.Name, ref)
				}
			}
		})
	}
}

// TestNamespaceDeletion deletes a namespace holding a deployment, its
// pods, a config map and a secret, and checks that it goes Terminating,
// is emptied and then disappears; and that new namespaces get the default
// service account.
func TestNamespaceDeletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "doomed"
	e.namespace(t, ctx, ns)
	waitFor(t, ctx, "the default service account", func() bool {
		_, err := e.kc.CoreV1().ServiceAccounts(ns).Get(ctx, serviceaccount.Default, metav1.GetOptions{})
		return err == nil
	})
	if _, err := e.kc.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", 4, intstr.FromInt32(1), intstr.FromInt32(0), "app:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kc.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"a": "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, ctx, e.kc, ns, "web")
	if err := e.kc.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the namespace gone", func() bool {
		_, err := e.kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	// Nothing of it is left in any resource.
	pods, err := e.kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods left: %v %d", err, len(pods.Items))
	}
	rss, err := e.kc.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(rss.Items) != 0 {
		t.Errorf("replica sets left: %v %d", err, len(rss.Items))
	}
	sas, err := e.kc.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(sas.Items) != 0 {
		t.Errorf("service accounts left: %v %d", err, len(sas.Items))
	}
}
