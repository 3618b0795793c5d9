package apiserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver/apitest"
	"github.com/skiffhq/skiff/fsm"
)

func testClient(t *testing.T) (kubernetes.Interface, *apitest.LocalStore) {
	t.Helper()
	srv, st := apitest.NewServer(t)
	kc, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return kc, st
}

func testPod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img"}}}}
}

// nextOf returns the next event of w, failing the test after a deadline.
func nextOf(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return watch.Event{}
}

// TestWatchNodeIndex checks what node-scoped pod watches
// (fieldSelector=spec.nodeName=X, served from the watch cache's node
// index) see beside a watch of every pod: each gets exactly the events of
// its own node's pods, a pod bound from "" to a node leaves the
// unscheduled watch as DELETED and enters the node's as ADDED, and a
// deleted pod is DELETED for its node.
func TestWatchNodeIndex(t *testing.T) {
	kc, _ := testClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods := kc.CoreV1().Pods("default")
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watchers := map[string]watch.Interface{}
	for _, sel := range []string{"spec.nodeName=a", "spec.nodeName=b", "spec.nodeName=", "", "spec.nodeName=a,metadata.name=p2"} {
		w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, FieldSelector: sel})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		watchers[sel] = w
	}
	if _, err := pods.Create(ctx, testPod("p1", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Target: corev1.ObjectReference{Kind: "Node", Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, testPod("p2", "b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	// A last pod on every node marks the end of each watch's events.
	for _, node := range []string{"a", "b", ""} {
		if _, err := pods.Create(ctx, testPod("end-"+node+"x", node), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		"spec.nodeName=a":                  {"ADDED p1 a", "DELETED p1 a", "ADDED end-ax a"},
		"spec.nodeName=b":                  {"ADDED p2 b", "ADDED end-bx b"},
		"spec.nodeName=":                   {"ADDED p1 ", "DELETED p1 ", "ADDED end-x "},
		"":                                 {"ADDED p1 ", "MODIFIED p1 a", "ADDED p2 b", "DELETED p1 a", "ADDED end-ax a", "ADDED end-bx b", "ADDED end-x "},
		"spec.nodeName=a,metadata.name=p2": {},
	}
	for sel, evs := range want {
		var got []string
		for len(got) < len(evs) {
			ev := nextOf(t, watchers[sel])
			p := ev.Object.(*corev1.Pod)
			got = append(got, fmt.Sprintf("%s %s %s", ev.Type, p.Name, p.Spec.NodeName))
		}
		if fmt.Sprint(got) != fmt.Sprint(evs) {
			t.Errorf("watch %q got %q, want %q", sel, got, evs)
		}
	}
	// Nothing more arrives on the watch that wants none: a pod that
	// matches it is the next event it sees.
	if _, err := pods.Create(ctx, testPod("p3", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "p3", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, testPod("p2", "a"), metav1.CreateOptions{}); err == nil {
		t.Fatal("a second p2 was created")
	}
	w := watchers["spec.nodeName=a,metadata.name=p2"]
	if err := pods.Delete(ctx, "p2", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, testPod("p2", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextOf(t, w); ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != "p2" {
		t.Fatalf("watch of p2 on a: %s %v, want ADDED p2", ev.Type, ev.Object)
	}
}

// TestListOneRevision lists more objects than one read chunk while they
// are being updated: every item of an unpaged list must be at or before
// the list's resourceVersion, and every object must be there once.
func TestListOneRevision(t *testing.T) {
	kc, st := testClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 2500
	key := func(i int) string { return fmt.Sprintf("/registry/configmaps/default/cm-%04d", i) }
	value := func(i, gen int) []byte {
		return fmt.Appendf(nil, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm-%04d","namespace":"default"},"data":{"gen":"%d"}}`, i, gen)
	}
	for i := range n {
		if _, err := st.Propose(ctx, &fsm.Command{Op: fsm.OpCreate, Key: key(i), Value: value(i, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// Bounded: at most 20 passes over the last keys.
		for gen := 1; gen <= 20; gen++ {
			for i := n - 1; i >= n-500; i-- {
				select {
				case <-stop:
					return
				default:
				}
				st.Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: key(i), Value: value(i, gen)})
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	for range 5 {
		list, err := kc.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rv, _ := strconv.ParseUint(list.ResourceVersion, 10, 64)
		if len(list.Items) != n {
			t.Fatalf("list of %d items, want %d", len(list.Items), n)
		}
		for _, cm := range list.Items {
			if got, _ := strconv.ParseUint(cm.ResourceVersion, 10, 64); got > rv {
				t.Fatalf("%s at %d in a list at %d", cm.Name, got, rv)
			}
		}
	}
}

// TestPartialObjectMetadata checks the metadata-only forms client-go's
// metadata client asks for: get, list and watch answer
// PartialObjectMetadata(List) with the object's metadata and nothing else.
func TestPartialObjectMetadata(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	kc, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cm, err := kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"l": "v"}},
		Data: map[string]string{"secretish": "value"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const base = "/api/v1/namespaces/default/configmaps"
	for _, tc := range []struct {
		name, path, accept string
		want               []string
	}{
		{"get", base + "/a", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
			[]string{`"kind":"PartialObjectMetadata"`, `"apiVersion":"meta.k8s.io/v1"`, `"name":"a"`, `"resourceVersion":"` + cm.ResourceVersion + `"`}},
		{"list", base, "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
			[]string{`"kind":"PartialObjectMetadataList"`, `"kind":"PartialObjectMetadata"`, `"labels":{"l":"v"}`}},
		{"watch", base + "?watch=true&resourceVersion=0&timeoutSeconds=1", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
			[]string{`{"type":"ADDED","object":{"kind":"PartialObjectMetadata"`, `"name":"a"`}},
		{"plain get", base + "/a", "application/json", []string{`"kind":"ConfigMap"`, `"secretish"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tc.path, nil)
			req.Header.Set("Accept", tc.accept)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("answer lacks %s: %s", w, b)
				}
			}
			if tc.name != "plain get" && strings.Contains(string(b), "secretish") {
				t.Errorf("metadata-only answer holds the data: %s", b)
			}
		})
	}
}
