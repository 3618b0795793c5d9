package apiserver

import (
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// serveDiscovery answers /api, /api/v1, /apis, /apis/<group> and
// /apis/<group>/<version> with the legacy (unaggregated) discovery
// documents; clients that prefer aggregated discovery fall back to them.
func (a *API) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method))
		return
	}
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 1 && parts[0] == "api":
		a.writeObject(w, r, http.StatusOK, &metav1.APIVersions{
			Versions:                   []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
		})
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		a.writeObject(w, r, http.StatusOK, resourceList(coreV1))
	case len(parts) == 1 && parts[0] == "apis":
		list := &metav1.APIGroupList{}
		for _, g := range groups() {
			list.Groups = append(list.Groups, apiGroup(g))
		}
		list.Groups = append(list.Groups, metricsAPIGroup())
		a.writeObject(w, r, http.StatusOK, list)
	case len(parts) == 2 && parts[0] == "apis" && parts[1] == metricsGroup:
		g := metricsAPIGroup()
		a.writeObject(w, r, http.StatusOK, &g)
	case len(parts) == 3 && parts[0] == "apis" && parts[1] == metricsGroup && parts[2] == metricsVersion:
		a.writeObject(w, r, http.StatusOK, metricsResources())
	case len(parts) == 2 && parts[0] == "apis" && slices.Contains(groups(), parts[1]):
		g := apiGroup(parts[1])
		a.writeObject(w, r, http.StatusOK, &g)
	case len(parts) == 3 && parts[0] == "apis" && slices.Contains(groups(), parts[1]) && parts[2] == "v1":
		a.writeObject(w, r, http.StatusOK, resourceList(schema.GroupVersion{Group: parts[1], Version: "v1"}))
	default:
		a.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, strings.TrimPrefix(r.URL.Path, "/")))
	}
}

// groups returns the named API groups served, in a stable order.
func groups() []string {
	var out []string
	for _, r := range resources {
		if r.GVR.Group != "" && !slices.Contains(out, r.GVR.Group) {
			out = append(out, r.GVR.Group)
		}
	}
	return out
}

func apiGroup(name string) metav1.APIGroup {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: name + "/v1", Version: "v1"}
	return metav1.APIGroup{Name: name, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
}

func resourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	list := &metav1.APIResourceList{GroupVersion: gv.String()}
	for _, r := range resources {
		if r.GVR.GroupVersion() != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: r.GVR.Resource, SingularName: r.Singular, Namespaced: r.Namespaced, Kind: r.Kind,
			Verbs: allVerbs, ShortNames: r.ShortNames, Categories: r.Categories,
		})
		if r.Status {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: r.GVR.Resource + "/status", Namespaced: r.Namespaced, Kind: r.Kind, Verbs: metav1.Verbs{"get", "patch", "update"}})
		}
		if r.Scale {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: r.GVR.Resource + "/scale", Namespaced: r.Namespaced, Group: "autoscaling", Version: "v1", Kind: "Scale", Verbs: metav1.Verbs{"get", "patch", "update"}})
		}
		if r.GVR.Resource == "namespaces" {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: "namespaces/finalize", Kind: "Namespace", Verbs: metav1.Verbs{"update"}})
		}
		if r.GVR.Resource == "pods" {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: "pods/binding", Namespaced: true, Kind: "Binding", Verbs: metav1.Verbs{"create"}})
		}
	}
	return list
}
