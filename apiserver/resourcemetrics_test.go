package apiserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
)

// fakeWorker serves *s at /stats/summary and returns its port.
func fakeWorker(t *testing.T, s *statsv1.Summary) int32 {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats/summary" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(*s)
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(p)
	return int32(port)
}

func usage(nanoCores, ws uint64) (*statsv1.CPUStats, *statsv1.MemoryStats) {
	return &statsv1.CPUStats{Time: metav1.Unix(1700000000, 0), UsageNanoCores: ptr.To(nanoCores)}, &statsv1.MemoryStats{WorkingSetBytes: ptr.To(ws)}
}

// TestResourceMetrics serves metrics.k8s.io/v1beta1 from two fake
// workers: discovery, lists and gets of nodes and pods, label selectors,
// pods without a CPU rate left out, and the errors.
func TestResourceMetrics(t *testing.T) {
	podStats := func(ns, name, uid string, cpu uint64, rate bool) statsv1.PodStats {
		c := statsv1.ContainerStats{Name: "app"}
		c.CPU, c.Memory = usage(cpu, 64<<20)
		if !rate {
			c.CPU.UsageNanoCores = nil
		}
		return statsv1.PodStats{PodRef: statsv1.PodReference{Namespace: ns, Name: name, UID: uid}, Containers: []statsv1.ContainerStats{c}}
	}
	s1 := statsv1.Summary{Pods: []statsv1.PodStats{podStats("default", "web", "u-web", 250e6, true), podStats("default", "new", "u-new", 0, false)}}
	s1.Node.CPU, s1.Node.Memory = usage(1500e6, 3<<30)
	s2 := statsv1.Summary{Pods: []statsv1.PodStats{podStats("other", "db", "u-db", 5e6, true)}}
	s2.Node.CPU, s2.Node.Memory = usage(2e6, 1<<30)

	st := apitest.NewLocalStore()
	srv := apitest.Serve(t, apiserver.Config{Store: st, Admission: apitest.Admission(), NodeTransport: plainTransport{}})
	post := func(path string, obj any) {
		b, _ := json.Marshal(obj)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %v %v", path, err, resp.Status)
		}
		resp.Body.Close()
	}
	for _, n := range []struct {
		name, zone string
		port       int32
	}{{"w1", "a", fakeWorker(t, &s1)}, {"w2", "b", fakeWorker(t, &s2)}, {"w3", "b", 0}} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"zone": n.zone}}}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = n.port
		post("/api/v1/nodes", node)
	}
	post("/api/v1/namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}})
	for _, p := range []struct{ ns, name, uid, node string }{
		{"default", "web", "u-web", "w1"}, {"default", "new", "u-new", "w1"}, {"other", "db", "u-db", "w2"}, {"default", "idle", "u-idle", "w3"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.ns, Labels: map[string]string{"app": p.name}},
			Spec: corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "app", Image: "x"}}}}
		post("/api/v1/namespaces/"+p.ns+"/pods", pod)
		// The server picks UIDs: the summaries take them from the pods.
		uid := runPod(t, srv.URL, p.ns, p.name)
		for _, s := range []*statsv1.Summary{&s1, &s2} {
			for i := range s.Pods {
				if s.Pods[i].PodRef.UID == p.uid {
					s.Pods[i].PodRef.UID = uid
				}
			}
		}
	}

	for _, tc := range []struct {
		name, path string
		code       int
		want       []string // in the body
		not        []string
	}{
		{"discovery lists the group", "/apis", 200, []string{`"name":"metrics.k8s.io"`, `"groupVersion":"metrics.k8s.io/v1beta1"`}, nil},
		{"discovery of the version", "/apis/metrics.k8s.io/v1beta1", 200, []string{`"kind":"NodeMetrics"`, `"kind":"PodMetrics"`}, nil},
		{"node list", "/apis/metrics.k8s.io/v1beta1/nodes", 200,
			[]string{`"kind":"NodeMetricsList"`, `"name":"w1"`, `"cpu":"1500m"`, `"memory":"3Gi"`, `"name":"w2"`, `"cpu":"2m"`, `"window":"1s"`}, []string{`"w3"`}},
		{"node by label", "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db", 200, []string{`"name":"w2"`}, []string{`"w1"`}},
		{"one node", "/apis/metrics.k8s.io/v1beta1/nodes/w1", 200, []string{`"kind":"NodeMetrics"`, `"name":"w1"`}, nil},
		{"node without usage", "/apis/metrics.k8s.io/v1beta1/nodes/w3", 404, []string{`nodes.metrics.k8s.io \"w3\" not found`}, nil},
		{"unknown node", "/apis/metrics.k8s.io/v1beta1/nodes/nope", 404, nil, nil},
		{"pods of a namespace", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", 200,
			[]string{`"kind":"PodMetricsList"`, `"name":"web"`, `"containers":[{"name":"app","usage":{"cpu":"250m","memory":"64Mi"}}]`}, []string{`"new"`, `"db"`, `"idle"`}},
		{"pods everywhere", "/apis/metrics.k8s.io/v1beta1/pods", 200, []string{`"name":"web"`, `"name":"db"`, `"cpu":"5m"`}, nil},
		{"pods by label", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Ddb", 200, []string{`"name":"db"`}, []string{`"web"`}},
		{"one pod", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", 200, []string{`"kind":"PodMetrics"`, `"namespace":"default"`}, nil},
		{"pod without a rate yet", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/new", 404, nil, nil},
		{"unknown pod", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope", 404, []string{`pods.metrics.k8s.io \"nope\" not found`}, nil},
		{"bad selector", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%20in%20(", 400, []string{"labelSelector"}, nil},
		{"watch", "/apis/metrics.k8s.io/v1beta1/pods?watch=1", 405, nil, nil},
		{"other version", "/apis/metrics.k8s.io/v1/nodes", 404, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, b, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("GET %s: %s\nwant %s in it", tc.path, b, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(string(b), w) {
					t.Errorf("GET %s: %s\nwant no %s in it", tc.path, b, w)
				}
			}
		})
	}
}

// runPod sets pod ns/name's phase to Running and returns its UID.
func runPod(t *testing.T, base, ns, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/namespaces/" + ns + "/pods/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	p.Status.Phase = corev1.PodRunning
	b, _ := json.Marshal(p)
	req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/namespaces/"+ns+"/pods/"+name+"/status", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("set pod %s running: %v %v", name, err, resp.Status)
	}
	resp.Body.Close()
	return string(p.UID)
}
