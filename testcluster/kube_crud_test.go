package testcluster_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/testcluster"
)

// crudClient is the part of a typed client that every served resource
// has; client-go's typed interfaces satisfy it.
type crudClient[T kubeObject, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// crudCase is the CRUD test of one resource: run gets a client of every
// server and a namespace of its own.
type crudCase struct {
	resource string // as schema.GroupResource prints it: configmaps, deployments.apps
	run      func(t *testing.T, ctx context.Context, kcs []kubernetes.Interface, ns string)
}

// crud returns a crudCase run that drives exerciseCRUD with the typed
// client client returns for a server and the objects newObj builds.
func crud[T kubeObject, L runtime.Object](client func(kc kubernetes.Interface, ns string) crudClient[T, L], newObj func(name string) T) func(*testing.T, context.Context, []kubernetes.Interface, string) {
	return func(t *testing.T, ctx context.Context, kcs []kubernetes.Interface, ns string) {
		var clients []crudClient[T, L]
		for _, kc := range kcs {
			clients = append(clients, client(kc, ns))
		}
		exerciseCRUD(t, ctx, clients, newObj)
	}
}

// TestKubeCRUD creates, reads, lists, updates, patches (merge, JSON and
// strategic merge) and deletes one object of every served resource with
// client-go's typed clients, each step through another server.
func TestKubeCRUD(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	labels := map[string]string{"app": "crud"}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}, SchedulerName: manualScheduler}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec}

	cases := []crudCase{
		{"namespaces", crud(func(kc kubernetes.Interface, _ string) crudClient[*corev1.Namespace, *corev1.NamespaceList] {
			return kc.CoreV1().Namespaces()
		}, func(name string) *corev1.Namespace {
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		})},
		{"nodes", crud(func(kc kubernetes.Interface, _ string) crudClient[*corev1.Node, *corev1.NodeList] {
			return kc.CoreV1().Nodes()
		}, func(name string) *corev1.Node {
			return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
		})},
		{"pods", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.Pod, *corev1.PodList] {
			return kc.CoreV1().Pods(ns)
		}, func(name string) *corev1.Pod {
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: podSpec}
		})},
		{"services", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.Service, *corev1.ServiceList] {
			return kc.CoreV1().Services(ns)
		}, func(name string) *corev1.Service {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}
		})},
		{"endpoints", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.Endpoints, *corev1.EndpointsList] {
			return kc.CoreV1().Endpoints(ns)
		}, func(name string) *corev1.Endpoints {
			return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name}, Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5"}}, Ports: []corev1.EndpointPort{{Port: 80}},
			}}}
		})},
		{"events", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.Event, *corev1.EventList] {
			return kc.CoreV1().Events(ns)
		}, func(name string) *corev1.Event {
			return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "p"},
				Reason:         "Tested", Message: "a test event", Type: corev1.EventTypeNormal, Count: 1}
		})},
		{"serviceaccounts", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
			return kc.CoreV1().ServiceAccounts(ns)
		}, func(name string) *corev1.ServiceAccount {
			return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
		})},
		{"configmaps", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.ConfigMap, *corev1.ConfigMapList] {
			return kc.CoreV1().ConfigMaps(ns)
		}, func(name string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}
		})},
		{"secrets", crud(func(kc kubernetes.Interface, ns string) crudClient[*corev1.Secret, *corev1.SecretList] {
			return kc.CoreV1().Secrets(ns)
		}, func(name string) *corev1.Secret {
			return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("secret")}}
		})},
		{"deployments.apps", crud(func(kc kubernetes.Interface, ns string) crudClient[*appsv1.Deployment, *appsv1.DeploymentList] {
			return kc.AppsV1().Deployments(ns)
		}, func(name string) *appsv1.Deployment {
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}
		})},
		{"replicasets.apps", crud(func(kc kubernetes.Interface, ns string) crudClient[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
			return kc.AppsV1().ReplicaSets(ns)
		}, func(name string) *appsv1.ReplicaSet {
			return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}
		})},
		{"endpointslices.discovery.k8s.io", crud(func(kc kubernetes.Interface, ns string) crudClient[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList] {
			return kc.DiscoveryV1().EndpointSlices(ns)
		}, func(name string) *discoveryv1.EndpointSlice {
			return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}}}}
		})},
		{"leases.coordination.k8s.io", crud(func(kc kubernetes.Interface, ns string) crudClient[*coordinationv1.Lease, *coordinationv1.LeaseList] {
			return kc.CoordinationV1().Leases(ns)
		}, func(name string) *coordinationv1.Lease {
			return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To("holder"), LeaseDurationSeconds: ptr.To[int32](15)}}
		})},
	}

	for _, r := range apiserver.Resources() {
		name := r.GVR.GroupResource().String()
		if !slices.ContainsFunc(cases, func(tc crudCase) bool { return tc.resource == name }) {
			t.Errorf("served resource %s has no CRUD case", name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.resource, func(t *testing.T) { tc.run(t, ctx, kcs, ns) })
	}
}

// exerciseCRUD runs create, get, list, update, three kinds of patch, a
// create with generateName and delete on one object, step k through
// clients[k%len(clients)], checking after each step what the server owns:
// the uid and creation timestamp stay, the resourceVersion grows with
// every write, and a stale resourceVersion is a conflict.
func exerciseCRUD[T kubeObject, L runtime.Object](t *testing.T, ctx context.Context, clients []crudClient[T, L], newObj func(name string) T) {
	step := 0
	next := func() crudClient[T, L] {
		step++
		return clients[(step-1)%len(clients)]
	}
	name := "crud-" + strings.ToLower(strings.ReplaceAll(t.Name()[strings.LastIndex(t.Name(), "/")+1:], ".", "-"))
	obj := newObj(name)
	obj.SetLabels(map[string]string{"crud": name})

	created, err := next().Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetName() != name || created.GetUID() == "" || created.GetCreationTimestamp().Time.IsZero() || created.GetResourceVersion() == "" {
		t.Fatalf("create: server-set metadata missing: %+v", metaSummary(created))
	}
	rv := requireNewerRV(t, "create", "0", created)
	// same checks that the object kept its identity after a write.
	same := func(what string, o T) {
		t.Helper()
		if o.GetUID() != created.GetUID() || !o.GetCreationTimestamp().Time.Equal(created.GetCreationTimestamp().Time) || o.GetName() != name {
			t.Fatalf("%s changed server-owned metadata: %+v, created %+v", what, metaSummary(o), metaSummary(created))
		}
	}

	got, err := next().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	same("get", got)
	if got.GetResourceVersion() != rv {
		t.Fatalf("get: resourceVersion %s, created at %s", got.GetResourceVersion(), rv)
	}

	lc := next()
	for _, opts := range []metav1.ListOptions{
		{LabelSelector: "crud=" + name},
		{FieldSelector: "metadata.name=" + name},
		{LabelSelector: "crud in (" + name + ",other)", FieldSelector: "metadata.name!=nothing"},
	} {
		list, err := lc.List(ctx, opts)
		if err != nil {
			t.Fatalf("list %+v: %v", opts, err)
		}
		if names := listNames(t, list); !slices.Equal(names, []string{name}) {
			t.Fatalf("list %+v: got %v, want [%s]", opts, names, name)
		}
	}
	if list, err := lc.List(ctx, metav1.ListOptions{LabelSelector: "crud=nothing"}); err != nil || len(listItems(t, list)) != 0 {
		t.Fatalf("list of a selector that matches nothing: %v %v", err, list)
	}

	got.SetLabels(map[string]string{"crud": name, "step": "update"})
	updated, err := next().Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	same("update", updated)
	rv = requireNewerRV(t, "update", rv, updated)
	if updated.GetLabels()["step"] != "update" {
		t.Fatalf("update: labels %v", updated.GetLabels())
	}
	if _, err := next().Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("update with the stale resourceVersion %s: %v, want a conflict", got.GetResourceVersion(), err)
	}

	patches := []struct {
		pt    types.PatchType
		patch string
		check func(o T) bool
	}{
		{types.MergePatchType, `{"metadata":{"labels":{"merge":"yes"}}}`, func(o T) bool {
			return o.GetLabels()["merge"] == "yes" && o.GetLabels()["step"] == "update"
		}},
		{types.JSONPatchType, `[{"op":"add","path":"/metadata/annotations","value":{"json":"yes"}},{"op":"test","path":"/metadata/labels/merge","value":"yes"}]`, func(o T) bool {
			return o.GetAnnotations()["json"] == "yes"
		}},
		{types.StrategicMergePatchType, `{"metadata":{"labels":{"smp":"yes","step":null}}}`, func(o T) bool {
			_, hasStep := o.GetLabels()["step"]
			return o.GetLabels()["smp"] == "yes" && !hasStep && o.GetLabels()["merge"] == "yes" && o.GetAnnotations()["json"] == "yes"
		}},
	}
	for _, p := range patches {
		patched, err := next().Patch(ctx, name, p.pt, []byte(p.patch), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("%s %s: %v", p.pt, p.patch, err)
		}
		same(string(p.pt), patched)
		rv = requireNewerRV(t, string(p.pt), rv, patched)
		if !p.check(patched) {
			t.Fatalf("%s %s: labels %v annotations %v", p.pt, p.patch, patched.GetLabels(), patched.GetAnnotations())
		}
	}
	stale := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"labels":{"stale":"yes"}}}`, created.GetResourceVersion())
	if _, err := next().Patch(ctx, name, types.MergePatchType, []byte(stale), metav1.PatchOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("merge patch with the stale resourceVersion %s: %v, want a conflict", created.GetResourceVersion(), err)
	}

	gen := newObj("")
	gen.SetGenerateName(name + "-")
	generated, err := next().Create(ctx, gen, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create with generateName: %v", err)
	}
	if g := generated.GetName(); !strings.HasPrefix(g, name+"-") || len(g) <= len(name)+1 || generated.GetUID() == created.GetUID() {
		t.Fatalf("generateName %s-: got name %q uid %s", name, g, generated.GetUID())
	}
	if _, err := next().Get(ctx, generated.GetName(), metav1.GetOptions{}); err != nil {
		t.Fatalf("get generated %s: %v", generated.GetName(), err)
	}

	for _, n := range []string{name, generated.GetName()} {
		if err := next().Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete %s: %v", n, err)
		}
		if _, ok := any(obj).(*corev1.Namespace); ok {
			finalizeNamespace(t, ctx, next(), n)
		}
		if _, err := next().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("get %s after delete: %v, want NotFound", n, err)
		}
		if err := next().Delete(ctx, n, metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("second delete of %s: %v, want NotFound", n, err)
		}
	}
}

// finalizeNamespace checks that a deleted namespace waits in phase
// Terminating for its "kubernetes" finalizer and removes it through the
// finalize subresource, as the namespace controller does once the
// namespace is empty (this cluster runs no controllers).
func finalizeNamespace(t *testing.T, ctx context.Context, c any, name string) {
	t.Helper()
	nc, ok := c.(interface {
		Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error)
		Finalize(ctx context.Context, ns *corev1.Namespace, opts metav1.UpdateOptions) (*corev1.Namespace, error)
	})
	if !ok {
		t.Fatalf("%T has no Finalize", c)
	}
	ns, err := nc.Get(ctx, name, metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("deleted namespace %s: %v, want it Terminating until finalized", name, err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nc.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize namespace %s: %v", name, err)
	}
}

// requireNewerRV checks that o's resourceVersion is a revision after prev
// and returns it.
func requireNewerRV(t testing.TB, what, prev string, o metav1.Object) string {
	t.Helper()
	p, err := strconv.ParseUint(prev, 10, 64)
	if err != nil {
		t.Fatalf("%s: previous resourceVersion %q: %v", what, prev, err)
	}
	n, err := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
	if err != nil || n <= p {
		t.Fatalf("%s: resourceVersion %q is not a revision after %s (%v)", what, o.GetResourceVersion(), prev, err)
	}
	return o.GetResourceVersion()
}

// metaSummary is the part of an object's metadata failures print.
func metaSummary(o metav1.Object) string {
	return fmt.Sprintf("name=%q uid=%q rv=%q created=%v generation=%d deletion=%v", o.GetName(), o.GetUID(), o.GetResourceVersion(), o.GetCreationTimestamp(), o.GetGeneration(), o.GetDeletionTimestamp())
}
