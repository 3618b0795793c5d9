package garbagecollector

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ownerIndex indexes every watched object by the UIDs of its owners.
const ownerIndex = "skiff-gc-owner-uid"

// kind is one kind the collector watches as owner and dependent.
type kind struct {
	gvk        schema.GroupVersionKind
	resource   string
	namespaced bool
	informer   cache.SharedIndexInformer
	rest       rest.Interface
}

// Kinds lists the group/version/kinds the collector follows.
func Kinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, k := range kindTable(nil, nil) {
		out = append(out, k.gvk)
	}
	return out
}

// kindTable returns the watched kinds; with f and client nil only gvk,
// resource and scope are filled in.
func kindTable(f informers.SharedInformerFactory, client kubernetes.Interface) []*kind {
	type entry struct {
		group, version, kind, resource string
		namespaced                     bool
		informer                       func() cache.SharedIndexInformer
		rest                           func() rest.Interface
	}
	core := func() rest.Interface { return client.CoreV1().RESTClient() }
	apps := func() rest.Interface { return client.AppsV1().RESTClient() }
	disc := func() rest.Interface { return client.DiscoveryV1().RESTClient() }
	coord := func() rest.Interface { return client.CoordinationV1().RESTClient() }
	entries := []entry{
		{"apps", "v1", "Deployment", "deployments", true, func() cache.SharedIndexInformer { return f.Apps().V1().Deployments().Informer() }, apps},
		{"apps", "v1", "ReplicaSet", "replicasets", true, func() cache.SharedIndexInformer { return f.Apps().V1().ReplicaSets().Informer() }, apps},
		{"", "v1", "Pod", "pods", true, func() cache.SharedIndexInformer { return f.Core().V1().Pods().Informer() }, core},
		{"", "v1", "Service", "services", true, func() cache.SharedIndexInformer { return f.Core().V1().Services().Informer() }, core},
		{"", "v1", "ConfigMap", "configmaps", true, func() cache.SharedIndexInformer { return f.Core().V1().ConfigMaps().Informer() }, core},
		{"", "v1", "Secret", "secrets", true, func() cache.SharedIndexInformer { return f.Core().V1().Secrets().Informer() }, core},
		{"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, func() cache.SharedIndexInformer { return f.Discovery().V1().EndpointSlices().Informer() }, disc},
		// A worker's Lease is owned by its Node, so deleting the Node
		// removes the Lease too.
		{"", "v1", "Node", "nodes", false, func() cache.SharedIndexInformer { return f.Core().V1().Nodes().Informer() }, core},
		{"coordination.k8s.io", "v1", "Lease", "leases", true, func() cache.SharedIndexInformer { return f.Coordination().V1().Leases().Informer() }, coord},
	}
	out := make([]*kind, len(entries))
	for i, e := range entries {
		k := &kind{gvk: schema.GroupVersionKind{Group: e.group, Version: e.version, Kind: e.kind}, resource: e.resource, namespaced: e.namespaced}
		if f != nil {
			k.informer = e.informer()
			k.rest = e.rest()
		}
		out[i] = k
	}
	return out
}

// ownerUIDs is the index function of ownerIndex.
func ownerUIDs(obj any) ([]string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	var out []string
	for _, r := range m.GetOwnerReferences() {
		out = append(out, string(r.UID))
	}
	return out, nil
}
