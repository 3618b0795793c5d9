package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver/apitest"
)

// TestNamespaceDeletionWaitsForFinalize checks the namespace lifecycle the
// namespace controller relies on: a DELETE keeps a namespace with
// spec.finalizers in phase Terminating (refusing new content), and the
// finalize subresource removing the last finalizer deletes it.
func TestNamespaceDeletionWaitsForFinalize(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	kc := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
		t.Fatalf("new namespace finalizers = %v, want [kubernetes]", ns.Spec.Finalizers)
	}
	if err := kc.CoreV1().Namespaces().Delete(ctx, "team", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	ns, err = kc.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a deleted namespace with a finalizer must stay: %v", err)
	}
	if ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("deleted namespace: deletionTimestamp %v phase %q, want set and Terminating", ns.DeletionTimestamp, ns.Status.Phase)
	}
	_, err = kc.CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		t.Fatalf("create in a terminating namespace: %v, want Forbidden with cause NamespaceTerminating", err)
	}
	// An update of the main resource must not drop it while the finalizer
	// is still there.
	ns.Labels["touched"] = "yes"
	if ns, err = kc.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	ns.Spec.Finalizers = nil
	if _, err := kc.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := kc.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after finalize: %v, want NotFound", err)
	}
}

// TestFinalizeOnlyForNamespaces checks the finalize subresource exists for
// namespaces only and changes nothing but spec.finalizers.
func TestFinalizeOnlyForNamespaces(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	kc := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "live"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels["ignored"] = "yes"
	out, err := kc.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("finalize a live namespace: %v", err)
	}
	if len(out.Spec.Finalizers) != 1 || out.Labels["ignored"] != "" || out.DeletionTimestamp != nil {
		t.Fatalf("finalize changed more than spec.finalizers: %+v %v", out.ObjectMeta, out.Spec)
	}
	err = kc.CoreV1().RESTClient().Put().AbsPath("/api/v1/namespaces/default/configmaps/x/finalize").Body([]byte(`{}`)).Do(ctx).Error()
	if !apierrors.IsNotFound(err) {
		t.Fatalf("finalize of a configmap: %v, want NotFound", err)
	}
}

// TestServiceAccountsServed checks service accounts are served and
// validated.
func TestServiceAccountsServed(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	kc := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kc.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := kc.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("create with a bad name: %v, want Invalid", err)
	}
	list, err := kc.CoreV1().ServiceAccounts("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	res, err := kc.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, r := range res.APIResources {
		found[r.Name] = true
	}
	if !found["serviceaccounts"] || !found["namespaces/finalize"] {
		t.Fatalf("discovery lacks serviceaccounts or namespaces/finalize: %v", found)
	}
}
