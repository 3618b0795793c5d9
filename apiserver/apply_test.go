package apiserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver/apitest"
)

func newApplyClient(t testing.TB) (kubernetes.Interface, string) {
	t.Helper()
	srv, _ := apitest.NewServer(t)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, UserAgent: "apply-test/v1 (linux)", QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cs, srv.URL
}

func webDeployment(replicas int32, image string) *appsv1ac.DeploymentApplyConfiguration {
	labels := map[string]string{"app": "web"}
	return appsv1ac.Deployment("web", "default").WithSpec(appsv1ac.DeploymentSpec().
		WithReplicas(replicas).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("web").WithImage(image)))))
}

func managerOf(t *testing.T, obj metav1.Object, manager string) *metav1.ManagedFieldsEntry {
	t.Helper()
	for i, e := range obj.GetManagedFields() {
		if e.Manager == manager {
			return &obj.GetManagedFields()[i]
		}
	}
	return nil
}

// TestApplyCreatesAndIsIdempotent: an apply creates what is absent,
// records the applier as an Apply manager, and a second identical apply
// writes nothing (same resourceVersion and generation).
func TestApplyCreatesAndIsIdempotent(t *testing.T) {
	cs, _ := newApplyClient(t)
	ctx := context.Background()
	opts := metav1.ApplyOptions{FieldManager: "skiff"}
	first, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(2, "nginx:1"), opts)
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	e := managerOf(t, first, "skiff")
	if e == nil || e.Operation != metav1.ManagedFieldsOperationApply || e.FieldsV1 == nil || !strings.Contains(string(e.FieldsV1.Raw), `"f:replicas"`) {
		t.Fatalf("managedFields after create: %+v", first.ManagedFields)
	}
	if first.Generation != 1 || *first.Spec.Replicas != 2 {
		t.Fatalf("created generation %d replicas %d", first.Generation, *first.Spec.Replicas)
	}
	second, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(2, "nginx:1"), opts)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if second.ResourceVersion != first.ResourceVersion || second.Generation != first.Generation {
		t.Errorf("identical apply changed the object: rv %s→%s generation %d→%d", first.ResourceVersion, second.ResourceVersion, first.Generation, second.Generation)
	}
	third, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(2, "nginx:2"), opts)
	if err != nil {
		t.Fatalf("changed apply: %v", err)
	}
	if third.Generation != 2 || third.Spec.Template.Spec.Containers[0].Image != "nginx:2" {
		t.Errorf("after a new image: generation %d image %s", third.Generation, third.Spec.Template.Spec.Containers[0].Image)
	}
}

// TestApplyBareNamespaceTwice: an apply that names only the object (the
// server sets everything else) is idempotent too.
func TestApplyBareNamespaceTwice(t *testing.T) {
	cs, _ := newApplyClient(t)
	ctx := context.Background()
	first, err := cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace("demo"), metav1.ApplyOptions{FieldManager: "skiff"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace("demo"), metav1.ApplyOptions{FieldManager: "skiff"})
	if err != nil {
		t.Fatal(err)
	}
	if first.ResourceVersion != second.ResourceVersion {
		t.Errorf("second apply wrote: rv %s, then %s; managedFields %+v", first.ResourceVersion, second.ResourceVersion, second.ManagedFields)
	}
}

// TestApplyConflictAndForce: a field another manager set is a 409 naming
// the field and the manager, as Kubernetes words it; force takes it over.
func TestApplyConflictAndForce(t *testing.T) {
	cs, _ := newApplyClient(t)
	ctx := context.Background()
	if _, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(2, "nginx:1"), metav1.ApplyOptions{FieldManager: "first"}); err != nil {
		t.Fatal(err)
	}
	_, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(5, "nginx:1"), metav1.ApplyOptions{FieldManager: "second"})
	if !apierrors.IsConflict(err) {
		t.Fatalf("apply of another manager's field: %v, want 409", err)
	}
	want := `Apply failed with 1 conflict: conflict with "first": .spec.replicas`
	if err.Error() != want {
		t.Errorf("conflict message %q, want %q", err.Error(), want)
	}
	var se apierrors.APIStatus
	if !asStatus(err, &se) || se.Status().Details == nil || len(se.Status().Details.Causes) != 1 || se.Status().Details.Causes[0].Field != ".spec.replicas" {
		t.Errorf("conflict causes: %+v", err)
	}
	forced, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(5, "nginx:1"), metav1.ApplyOptions{FieldManager: "second", Force: true})
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if *forced.Spec.Replicas != 5 {
		t.Errorf("replicas %d after force, want 5", *forced.Spec.Replicas)
	}
	first := managerOf(t, forced, "first")
	if first == nil || strings.Contains(string(first.FieldsV1.Raw), "f:replicas") {
		t.Errorf("the first manager still owns replicas: %+v", first)
	}
	// Both managers now share the image: the first may change it only
	// with force, and neither conflicts on a value they agree on.
	if _, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(5, "nginx:1"), metav1.ApplyOptions{FieldManager: "second"}); err != nil {
		t.Errorf("re-apply by the new owner: %v", err)
	}
}

func asStatus(err error, out *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	*out = s
	return ok
}

// TestUpdatesTrackManagers: creates, updates and merge patches keep
// managedFields current with operation Update, under the fieldManager
// parameter or the User-Agent's product name.
func TestUpdatesTrackManagers(t *testing.T) {
	cs, _ := newApplyClient(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1"}}
	created, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := managerOf(t, created, "apply-test"); e == nil || e.Operation != metav1.ManagedFieldsOperationUpdate || !strings.Contains(string(e.FieldsV1.Raw), `"f:a"`) {
		t.Fatalf("create by User-Agent apply-test: %+v", created.ManagedFields)
	}
	patched, err := cs.CoreV1().ConfigMaps("default").Patch(ctx, "cfg", types.MergePatchType, []byte(`{"data":{"b":"2"}}`), metav1.PatchOptions{FieldManager: "editor"})
	if err != nil {
		t.Fatal(err)
	}
	if e := managerOf(t, patched, "editor"); e == nil || e.Operation != metav1.ManagedFieldsOperationUpdate || !strings.Contains(string(e.FieldsV1.Raw), `"f:b"`) || strings.Contains(string(e.FieldsV1.Raw), `"f:a"`) {
		t.Fatalf("merge patch by editor: %+v", patched.ManagedFields)
	}
	// An update that changes nothing is still no write.
	same, err := cs.CoreV1().ConfigMaps("default").Update(ctx, patched, metav1.UpdateOptions{FieldManager: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if same.ResourceVersion != patched.ResourceVersion || managerOf(t, same, "other") != nil {
		t.Errorf("no-op update wrote: rv %s→%s managers %+v", patched.ResourceVersion, same.ResourceVersion, same.ManagedFields)
	}
	// Apply of a field an Update manager set conflicts too.
	_, err = cs.CoreV1().ConfigMaps("default").Apply(ctx, corev1ac.ConfigMap("cfg", "default").WithData(map[string]string{"b": "3"}), metav1.ApplyOptions{FieldManager: "skiff"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "editor" using v1: .data.b`) {
		t.Errorf("apply over an updated field: %v", err)
	}
	// Status writes are recorded under the status subresource.
	d, err := cs.AppsV1().Deployments("default").Apply(ctx, webDeployment(1, "nginx:1"), metav1.ApplyOptions{FieldManager: "skiff"})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1}
	d, err = cs.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "controller"})
	if err != nil {
		t.Fatal(err)
	}
	if e := managerOf(t, d, "controller"); e == nil || e.Subresource != "status" {
		t.Errorf("status update: %+v", d.ManagedFields)
	}
}

// TestApplyRefusals: what Kubernetes refuses, Skiff refuses with the
// same status codes.
func TestApplyRefusals(t *testing.T) {
	_, url := newApplyClient(t)
	const path = "/api/v1/namespaces/default/configmaps/x"
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n"
	for _, tc := range []struct {
		name, query, contentType, body string
		want                           int
	}{
		{"no fieldManager", "", "application/apply-patch+yaml", cm, http.StatusUnprocessableEntity},
		{"bad force", "fieldManager=m&force=maybe", "application/apply-patch+yaml", cm, http.StatusUnprocessableEntity},
		{"force on a merge patch", "fieldManager=m&force=true", "application/merge-patch+json", `{"data":{}}`, http.StatusUnprocessableEntity},
		{"not YAML", "fieldManager=m", "application/apply-patch+yaml", "a: [", http.StatusBadRequest},
		{"no kind", "fieldManager=m", "application/apply-patch+yaml", "metadata: {name: x}\n", http.StatusBadRequest},
		{"another kind", "fieldManager=m", "application/apply-patch+yaml", "apiVersion: v1\nkind: Secret\n", http.StatusBadRequest},
		{"another name", "fieldManager=m", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n", http.StatusBadRequest},
		{"managedFields set", "fieldManager=m", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {managedFields: [{manager: x}]}\n", http.StatusBadRequest},
		{"unknown field, strict", "fieldManager=m&fieldValidation=Strict", "application/apply-patch+yaml", cm + "bogus: 1\n", http.StatusBadRequest},
		{"CBOR", "fieldManager=m", "application/apply-patch+cbor", "", http.StatusUnsupportedMediaType},
		{"valid", "fieldManager=m", "application/apply-patch+yaml", cm, http.StatusCreated},
		{"valid again", "fieldManager=m", "application/apply-patch+yaml", cm, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPatch, url+path+"?"+tc.query, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
