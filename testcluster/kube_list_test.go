package testcluster_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeListSelectorsAndPaging lists through client-go with label and
// field selectors, and pages with limit and continue, each page from
// another server.
func TestKubeListSelectorsAndPaging(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])

	const objects = 25
	var all, even []string
	for i := 0; i < objects; i++ {
		name := fmt.Sprintf("page-%02d", i)
		parity := []string{"even", "odd"}[i%2]
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"parity": parity}}}
		if _, err := kcs[i%3].CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, name)
		if parity == "even" {
			even = append(even, name)
		}
	}

	t.Run("paging", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			selector string
			limit    int64
			want     []string
		}{
			{"all by 10", "", 10, all},
			{"even by 5", "parity=even", 5, even},
			{"all by 25", "", 25, all},
			{"all by 100", "", 100, all},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				var listRV, cont string
				pages := 0
				for {
					list, err := kcs[pages%3].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: tc.selector, Limit: tc.limit, Continue: cont})
					if err != nil {
						t.Fatalf("page %d: %v", pages, err)
					}
					pages++
					if n := int64(len(list.Items)); n > tc.limit || (list.Continue != "" && n != tc.limit) {
						t.Fatalf("page %d: %d items with limit %d, continue %q", pages, n, tc.limit, list.Continue)
					}
					if pages == 1 {
						listRV = list.ResourceVersion
					} else if list.ResourceVersion != listRV {
						t.Fatalf("page %d: resourceVersion %s, first page's %s", pages, list.ResourceVersion, listRV)
					}
					for _, cm := range list.Items {
						got = append(got, cm.Name)
					}
					if cont = list.Continue; cont == "" {
						break
					}
					if pages > len(tc.want) {
						t.Fatalf("more than %d pages for %d objects", pages, len(tc.want))
					}
				}
				if wantPages := (len(tc.want) + int(tc.limit) - 1) / int(tc.limit); pages != wantPages {
					t.Errorf("%d pages, want %d", pages, wantPages)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("paged list returned %v, want each of %v once in order", got, tc.want)
				}
			})
		}
	})

	t.Run("configmap selectors", func(t *testing.T) {
		for i, tc := range []struct {
			labels, fields string
			want           []string
		}{
			{"parity=even", "", even},
			{"parity!=odd", "", even},
			{"parity in (even,odd)", "", all},
			{"parity", "metadata.name=page-07", []string{"page-07"}},
			{"parity=even", "metadata.name=page-07", nil},
			{"", "metadata.name!=page-00,metadata.namespace=" + ns, all[1:]},
			{"", "metadata.namespace=elsewhere", nil},
			{"color", "", nil},
		} {
			list, err := kcs[i%3].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: tc.labels, FieldSelector: tc.fields})
			if err != nil {
				t.Fatalf("labels %q fields %q: %v", tc.labels, tc.fields, err)
			}
			if got := listNames(t, list); !slices.Equal(got, tc.want) {
				t.Errorf("labels %q fields %q: got %v, want %v", tc.labels, tc.fields, got, tc.want)
			}
		}
		if _, err := kcs[0].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{FieldSelector: "data.k=v"}); !apierrors.IsBadRequest(err) {
			t.Errorf("unsupported field selector: %v, want BadRequest", err)
		}
	})

	t.Run("pod field selectors", func(t *testing.T) {
		pods := kcs[1].CoreV1().Pods(ns)
		spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}, SchedulerName: manualScheduler}
		for _, name := range []string{"pa", "pb", "pc", "pd"} {
			if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pod": name}}, Spec: spec}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for pod, node := range map[string]string{"pa": "node-a", "pb": "node-a", "pc": "node-b"} {
			if err := kcs[2].CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}); err != nil {
				t.Fatalf("bind %s: %v", pod, err)
			}
		}
		pa, err := pods.Get(ctx, "pa", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pa.Status.Phase = corev1.PodRunning
		if _, err := kcs[0].CoreV1().Pods(ns).UpdateStatus(ctx, pa, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, tc := range []struct {
			namespace, labels, fields string
			want                      []string
		}{
			{ns, "", "spec.nodeName=node-a", []string{"pa", "pb"}},
			{"", "", "spec.nodeName=node-b", []string{"pc"}},
			{ns, "", "spec.nodeName=", []string{"pd"}},
			{ns, "", "status.phase=Running", []string{"pa"}},
			{ns, "", "status.phase=Pending", []string{"pb", "pc", "pd"}},
			{ns, "", "spec.nodeName=node-a,status.phase!=Running", []string{"pb"}},
			{"", "", "metadata.name=pc", []string{"pc"}},
			{ns, "pod in (pa,pc,pd)", "spec.nodeName!=node-b", []string{"pa", "pd"}},
		} {
			list, err := kcs[i%3].CoreV1().Pods(tc.namespace).List(ctx, metav1.ListOptions{LabelSelector: tc.labels, FieldSelector: tc.fields})
			if err != nil {
				t.Fatalf("namespace %q labels %q fields %q: %v", tc.namespace, tc.labels, tc.fields, err)
			}
			if got := listNames(t, list); !slices.Equal(got, tc.want) {
				t.Errorf("namespace %q labels %q fields %q: got %v, want %v", tc.namespace, tc.labels, tc.fields, got, tc.want)
			}
		}
	})
}

// TestKubeDiscovery checks that client-go's discovery finds every served
// resource with its kind, scope, verbs and subresources.
func TestKubeDiscovery(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	for i, kc := range kubeClients(t, c) {
		_, lists, err := kc.Discovery().ServerGroupsAndResources()
		if err != nil {
			t.Fatalf("server %d: discovery: %v", i, err)
		}
		found := map[string]metav1.APIResource{}
		for _, l := range lists {
			for _, r := range l.APIResources {
				found[l.GroupVersion+"/"+r.Name] = r
			}
		}
		verbs := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
		for _, r := range apiserver.Resources() {
			gv := r.GVR.GroupVersion().String()
			got, ok := found[gv+"/"+r.GVR.Resource]
			if !ok {
				t.Errorf("server %d: discovery lacks %s %s", i, gv, r.GVR.Resource)
				continue
			}
			if got.Kind != r.Kind || got.Namespaced != r.Namespaced || !slices.Equal(slices.Sorted(slices.Values(got.Verbs)), verbs) {
				t.Errorf("server %d: %s %s: kind %q namespaced %v verbs %v", i, gv, r.GVR.Resource, got.Kind, got.Namespaced, got.Verbs)
			}
			var subs []string
			if r.Status {
				subs = append(subs, "status")
			}
			if r.Scale {
				subs = append(subs, "scale")
			}
			if r.GVR.Resource == "pods" {
				subs = append(subs, "binding")
			}
			for _, sub := range subs {
				if _, ok := found[gv+"/"+r.GVR.Resource+"/"+sub]; !ok {
					t.Errorf("server %d: discovery lacks %s %s/%s", i, gv, r.GVR.Resource, sub)
				}
			}
		}
		// The resources the CRUD test covers are all among them.
		for _, want := range []string{"v1/namespaces", "v1/nodes", "v1/pods", "v1/services", "v1/endpoints", "v1/events", "v1/configmaps", "v1/secrets",
			"apps/v1/deployments", "apps/v1/replicasets", "discovery.k8s.io/v1/endpointslices", "coordination.k8s.io/v1/leases"} {
			if _, ok := found[want]; !ok {
				t.Errorf("server %d: discovery lacks %s", i, want)
			}
		}
	}
}
