package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// The resource metrics API (metrics.k8s.io/v1beta1), which metrics-server
// serves in Kubernetes and `kubectl top` reads. Skiff serves it in the
// apiserver itself: each request asks the workers concerned for their
// Summary (/stats/summary, see docs/worker.md) and answers NodeMetrics and
// PodMetrics from it. Nothing is stored or cached here; a worker keeps the
// samples its CPU rates need.
const (
	metricsGroup   = "metrics.k8s.io"
	metricsVersion = "v1beta1"
)

// Fan-out bounds of one metrics request: nodes asked at once, and how long
// one may take (a worker's first summary takes a second).
const (
	metricsParallel = 16
	metricsTimeout  = 10 * time.Second
)

// metricsWindow is the Window reported: the shortest span a worker's CPU
// rate covers. The Summary does not say the actual span, which is between
// one second and a minute (worker/stats.go).
const metricsWindow = time.Second

var metricsGV = schema.GroupVersion{Group: metricsGroup, Version: metricsVersion}

// metricsResources is the discovery document of metrics.k8s.io/v1beta1.
func metricsResources() *metav1.APIResourceList {
	verbs := metav1.Verbs{"get", "list"}
	return &metav1.APIResourceList{GroupVersion: metricsGV.String(), APIResources: []metav1.APIResource{
		{Name: "nodes", SingularName: "", Namespaced: false, Kind: "NodeMetrics", Verbs: verbs},
		{Name: "pods", SingularName: "", Namespaced: true, Kind: "PodMetrics", Verbs: verbs},
	}}
}

func metricsAPIGroup() metav1.APIGroup {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: metricsGV.String(), Version: metricsVersion}
	return metav1.APIGroup{Name: metricsGroup, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
}

// serveResourceMetrics answers get and list of nodes and pods in
// metrics.k8s.io/v1beta1, with labelSelector. Objects whose node gave no
// usage are left out of lists and are 404 by name, as with metrics-server.
func (a *API) serveResourceMetrics(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	if err := a.resourceMetrics(w, r, ri); err != nil {
		a.writeError(w, r, err)
	}
}

func (a *API) resourceMetrics(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	gr := schema.GroupResource{Group: metricsGroup, Resource: ri.Resource}
	if ri.Version != metricsVersion || (ri.Resource != "nodes" && ri.Resource != "pods") || ri.Subresource != "" ||
		(ri.Resource == "nodes" && ri.Namespace != "") {
		return apierrors.NewNotFound(gr, ri.Name)
	}
	if ri.Verb != "get" && ri.Verb != "list" {
		return apierrors.NewMethodNotSupported(gr, ri.Verb)
	}
	if err := a.check(r, ri, nil); err != nil {
		return err
	}
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("labelSelector: %v", err))
	}
	if a.nodeTransport == nil {
		return apierrors.NewServiceUnavailable("this server cannot reach workers")
	}
	if ri.Resource == "nodes" {
		return a.nodeMetrics(w, r, ri, sel, gr)
	}
	return a.podMetrics(w, r, ri, sel, gr)
}

func (a *API) nodeMetrics(w http.ResponseWriter, r *http.Request, ri requestInfo, sel labels.Selector, gr schema.GroupResource) error {
	var nodes []corev1.Node
	if err := a.decodeAll("/registry/nodes/", ri.Name, &nodes); err != nil {
		return err
	}
	nodes = slices.DeleteFunc(nodes, func(n corev1.Node) bool { return !sel.Matches(labels.Set(n.Labels)) })
	sums := a.summaries(r.Context(), nodes)
	list := &metricsv1beta1.NodeMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: metricsGV.String(), Kind: "NodeMetricsList"}, Items: []metricsv1beta1.NodeMetrics{}}
	for _, n := range nodes {
		s := sums[n.Name]
		if s == nil {
			continue
		}
		use, at, ok := usageList(s.Node.CPU, s.Node.Memory)
		if !ok {
			continue
		}
		list.Items = append(list.Items, metricsv1beta1.NodeMetrics{
			TypeMeta:   metav1.TypeMeta{APIVersion: metricsGV.String(), Kind: "NodeMetrics"},
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: metav1.NewTime(a.now())},
			Timestamp:  at, Window: metav1.Duration{Duration: metricsWindow}, Usage: use,
		})
	}
	return a.writeMetrics(w, r, ri, gr, list, len(list.Items), func() any { return &list.Items[0] })
}

func (a *API) podMetrics(w http.ResponseWriter, r *http.Request, ri requestInfo, sel labels.Selector, gr schema.GroupResource) error {
	prefix := "/registry/pods/"
	if ri.Namespace != "" {
		prefix += ri.Namespace + "/"
	}
	var pods []corev1.Pod
	if err := a.decodeAll(prefix, ri.Name, &pods); err != nil {
		if apierrors.IsNotFound(err) {
			return apierrors.NewNotFound(gr, ri.Name)
		}
		return err
	}
	pods = slices.DeleteFunc(pods, func(p corev1.Pod) bool {
		return !sel.Matches(labels.Set(p.Labels)) || p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning
	})
	var nodes []corev1.Node
	for _, p := range pods {
		if slices.ContainsFunc(nodes, func(n corev1.Node) bool { return n.Name == p.Spec.NodeName }) {
			continue
		}
		var one []corev1.Node
		if a.decodeAll("/registry/nodes/", p.Spec.NodeName, &one) == nil {
			nodes = append(nodes, one...)
		}
	}
	byUID := map[string]*statsv1.PodStats{}
	for _, s := range a.summaries(r.Context(), nodes) {
		for i := range s.Pods {
			byUID[s.Pods[i].PodRef.UID] = &s.Pods[i]
		}
	}
	list := &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: metricsGV.String(), Kind: "PodMetricsList"}, Items: []metricsv1beta1.PodMetrics{}}
	for _, p := range pods {
		ps := byUID[string(p.UID)]
		if ps == nil {
			continue
		}
		pm := metricsv1beta1.PodMetrics{
			TypeMeta:   metav1.TypeMeta{APIVersion: metricsGV.String(), Kind: "PodMetrics"},
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, CreationTimestamp: metav1.NewTime(a.now())},
			Window:     metav1.Duration{Duration: metricsWindow},
			Containers: []metricsv1beta1.ContainerMetrics{},
		}
		complete := len(ps.Containers) > 0
		for _, c := range ps.Containers {
			use, at, ok := usageList(c.CPU, c.Memory)
			if !ok {
				complete = false
				break
			}
			pm.Timestamp = at
			pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: use})
		}
		if complete {
			list.Items = append(list.Items, pm)
		}
	}
	return a.writeMetrics(w, r, ri, gr, list, len(list.Items), func() any { return &list.Items[0] })
}

// writeMetrics answers a list, or for a get its one item (404 if none).
func (a *API) writeMetrics(w http.ResponseWriter, r *http.Request, ri requestInfo, gr schema.GroupResource, list any, n int, first func() any) error {
	var body any = list
	if ri.Name != "" {
		if n == 0 {
			return apierrors.NewNotFound(gr, ri.Name)
		}
		body = first()
	}
	b, err := json.Marshal(body)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	a.writeJSON(w, r, http.StatusOK, append(b, '\n'))
	return nil
}

// decodeAll reads the objects under prefix from the local replica (a
// usage view need not be linearizable), or the one named name (404 if
// absent), into out, a pointer to a slice.
func (a *API) decodeAll(prefix, name string, out any) error {
	st := a.store.Store()
	var raw []json.RawMessage
	if name != "" {
		kv, ok, _ := st.Get(prefix + name)
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{Resource: strings.Split(strings.TrimPrefix(prefix, "/registry/"), "/")[0]}, name)
		}
		raw = append(raw, kv.Value)
	} else {
		kvs, _, _ := st.List(prefix, "", 0)
		for _, kv := range kvs {
			raw = append(raw, kv.Value)
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return apierrors.NewInternalError(err)
	}
	return nil
}

// usageList turns Summary stats into a ResourceList of CPU (from
// nanocores) and memory (the working set), with the sample's time; ok is
// false when either is missing.
func usageList(cpu *statsv1.CPUStats, mem *statsv1.MemoryStats) (corev1.ResourceList, metav1.Time, bool) {
	if cpu == nil || cpu.UsageNanoCores == nil || mem == nil || mem.WorkingSetBytes == nil {
		return nil, metav1.Time{}, false
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewScaledQuantity(int64(*cpu.UsageNanoCores), resource.Nano),
		corev1.ResourceMemory: *resource.NewQuantity(int64(*mem.WorkingSetBytes), resource.BinarySI),
	}, cpu.Time, true
}

// summaries asks each node's worker for its Summary, metricsParallel at a
// time. Nodes that cannot be reached or answer badly are left out (and
// logged): usage is best effort, as metrics-server's is.
func (a *API) summaries(ctx context.Context, nodes []corev1.Node) map[string]*statsv1.Summary {
	out := map[string]*statsv1.Summary{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, metricsParallel)
	for i := range nodes {
		n := &nodes[i]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := a.summary(ctx, n)
			if err != nil {
				a.log.Debug("no usage from node", "node", n.Name, "error", err)
				return
			}
			mu.Lock()
			out[n.Name] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func (a *API) summary(ctx context.Context, n *corev1.Node) (*statsv1.Summary, error) {
	host, err := nodeEndpointOf(n)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	u := url.URL{Scheme: "https", Host: host, Path: "/stats/summary"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.nodeTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats summary: %s", resp.Status)
	}
	var s statsv1.Summary
	// A summary holds a few hundred bytes per pod; 64 MiB is far beyond
	// any node's.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode stats summary: %w", err)
	}
	return &s, nil
}
