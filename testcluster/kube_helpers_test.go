package testcluster_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// kubeClients returns a clientset for every server of c, indexed like the
// servers. Every client is built by kubeClient, the one place that knows
// how to reach the API.
func kubeClients(t testing.TB, c *testcluster.Cluster) []kubernetes.Interface {
	t.Helper()
	out := make([]kubernetes.Interface, c.N())
	for i := range out {
		out[i] = kubeClient(t, c, i)
	}
	return out
}

// kubeNamespace creates a namespace for one test through kc and returns
// its name. Names are lowercased test names, so tests do not share
// objects even when they share a cluster.
func kubeNamespace(t *testing.T, ctx context.Context, kc kubernetes.Interface) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.Trim(name, "-")
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// kubeObject is what every served object is: typed metadata and a
// runtime.Object.
type kubeObject interface {
	metav1.Object
	runtime.Object
}

// listItems returns the objects of a typed list.
func listItems(t testing.TB, list runtime.Object) []kubeObject {
	t.Helper()
	objs, err := meta.ExtractList(list)
	if err != nil {
		t.Fatalf("extract %T: %v", list, err)
	}
	out := make([]kubeObject, 0, len(objs))
	for _, o := range objs {
		ko, ok := o.(kubeObject)
		if !ok {
			t.Fatalf("list item %T has no object metadata", o)
		}
		out = append(out, ko)
	}
	return out
}

// listNames returns the sorted names of a typed list's objects.
func listNames(t testing.TB, list runtime.Object) []string {
	t.Helper()
	var out []string
	for _, o := range listItems(t, list) {
		out = append(out, o.GetName())
	}
	slices.Sort(out)
	return out
}

// manualScheduler is the spec.schedulerName of pods a test binds itself:
// the leader's scheduler leaves pods of other schedulers alone, so it
// neither binds them nor writes their status while the test does.
const manualScheduler = "manual"
