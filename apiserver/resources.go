package apiserver

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one served resource: its REST name, kind, scope, the
// subresources it has and the verbs it allows.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	ListKind   string
	Singular   string
	ShortNames []string
	Namespaced bool
	// Status means the resource has a status subresource: updates of the
	// main resource keep the stored status, updates of status keep the
	// rest.
	Status bool
	// Scale means the resource has a scale subresource
	// (autoscaling/v1 Scale over spec.replicas).
	Scale bool
	// HasSpec means metadata.generation counts changes of spec.
	HasSpec bool
	// GracefulDelete means deletion of a bound object waits for its node
	// (pods).
	GracefulDelete bool
	// Categories, as in kubectl get all.
	Categories []string
	// Sensitive means the objects hold secret data, which error messages
	// must never quote (see redact.go).
	Sensitive bool
}

// GVK returns the resource's group, version and kind.
func (r *Resource) GVK() schema.GroupVersionKind { return r.GVR.GroupVersion().WithKind(r.Kind) }

// New returns an empty object of the resource's kind.
func (r *Resource) New() runtime.Object {
	obj, err := scheme.New(r.GVK())
	if err != nil {
		panic(fmt.Sprintf("apiserver: kind %s not in scheme: %v", r.GVK(), err))
	}
	return obj
}

// NewList returns an empty list of the resource's kind.
func (r *Resource) NewList() runtime.Object {
	obj, err := scheme.New(r.GVR.GroupVersion().WithKind(r.ListKind))
	if err != nil {
		panic(fmt.Sprintf("apiserver: list kind %s not in scheme: %v", r.ListKind, err))
	}
	return obj
}

// KeyPrefix returns the store prefix of the resource's objects in
// namespace ns ("" for all namespaces or a cluster-scoped resource).
func (r *Resource) KeyPrefix(ns string) string {
	p := "/registry/" + r.GVR.Resource + "/"
	if r.Namespaced && ns != "" {
		p += ns + "/"
	}
	return p
}

// Key returns the store key of one object.
func (r *Resource) Key(ns, name string) string {
	if !r.Namespaced {
		return "/registry/" + r.GVR.Resource + "/" + name
	}
	return "/registry/" + r.GVR.Resource + "/" + ns + "/" + name
}

var (
	coreV1        = corev1.SchemeGroupVersion
	appsV1        = appsv1.SchemeGroupVersion
	discoveryV1   = discoveryv1.SchemeGroupVersion
	coordinationV = coordinationv1.SchemeGroupVersion
)

// resources is every resource Skiff serves.
var resources = []*Resource{
	{GVR: coreV1.WithResource("namespaces"), Kind: "Namespace", ListKind: "NamespaceList", Singular: "namespace", ShortNames: []string{"ns"}, Status: true},
	{GVR: coreV1.WithResource("nodes"), Kind: "Node", ListKind: "NodeList", Singular: "node", ShortNames: []string{"no"}, Status: true, HasSpec: true},
	{GVR: coreV1.WithResource("pods"), Kind: "Pod", ListKind: "PodList", Singular: "pod", ShortNames: []string{"po"}, Namespaced: true, Status: true, HasSpec: true, GracefulDelete: true, Categories: []string{"all"}},
	{GVR: coreV1.WithResource("services"), Kind: "Service", ListKind: "ServiceList", Singular: "service", ShortNames: []string{"svc"}, Namespaced: true, Status: true, HasSpec: true, Categories: []string{"all"}},
	{GVR: coreV1.WithResource("endpoints"), Kind: "Endpoints", ListKind: "EndpointsList", Singular: "endpoints", ShortNames: []string{"ep"}, Namespaced: true},
	{GVR: coreV1.WithResource("events"), Kind: "Event", ListKind: "EventList", Singular: "event", ShortNames: []string{"ev"}, Namespaced: true},
	{GVR: coreV1.WithResource("configmaps"), Kind: "ConfigMap", ListKind: "ConfigMapList", Singular: "configmap", ShortNames: []string{"cm"}, Namespaced: true},
	{GVR: coreV1.WithResource("serviceaccounts"), Kind: "ServiceAccount", ListKind: "ServiceAccountList", Singular: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true},
	{GVR: coreV1.WithResource("secrets"), Kind: "Secret", ListKind: "SecretList", Singular: "secret", Namespaced: true, Sensitive: true},
	{GVR: appsV1.WithResource("deployments"), Kind: "Deployment", ListKind: "DeploymentList", Singular: "deployment", ShortNames: []string{"deploy"}, Namespaced: true, Status: true, Scale: true, HasSpec: true, Categories: []string{"all"}},
	{GVR: appsV1.WithResource("replicasets"), Kind: "ReplicaSet", ListKind: "ReplicaSetList", Singular: "replicaset", ShortNames: []string{"rs"}, Namespaced: true, Status: true, Scale: true, HasSpec: true, Categories: []string{"all"}},
	{GVR: discoveryV1.WithResource("endpointslices"), Kind: "EndpointSlice", ListKind: "EndpointSliceList", Singular: "endpointslice", Namespaced: true},
	{GVR: coordinationV.WithResource("leases"), Kind: "Lease", ListKind: "LeaseList", Singular: "lease", Namespaced: true},
}

// lookup finds a served resource by group, version and plural name.
func lookup(group, version, resource string) *Resource {
	for _, r := range resources {
		if r.GVR.Group == group && r.GVR.Version == version && r.GVR.Resource == resource {
			return r
		}
	}
	return nil
}

// Resources returns the served resources, for discovery and tests.
func Resources() []*Resource { return resources }
