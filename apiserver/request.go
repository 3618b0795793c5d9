package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what the URL of a resource request names.
type requestInfo struct {
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection.
	Verb        string
	Group       string
	Version     string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// ProxyPath is what follows nodes/<name>/proxy ("/stats/summary"),
	// with its leading slash; "" for every other request.
	ProxyPath string
}

// parseRequest parses /api/v1/... and /apis/<group>/<version>/... paths:
//
//	<prefix>/<resource>[/<name>[/<subresource>]]
//	<prefix>/namespaces/<ns>/<resource>[/<name>[/<subresource>]]
//	<prefix>/watch/... (legacy watch paths)
//	<prefix>/nodes/<name>/proxy[/<path>] (the node proxy)
//
// It returns ok=false for paths that are not resource requests (discovery).
func parseRequest(r *http.Request) (requestInfo, bool) {
	var ri requestInfo
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri, false
	}
	if len(parts) == 0 {
		return ri, false
	}
	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
	}
	// "namespaces/<ns>/<resource>..." addresses a namespaced resource;
	// "namespaces[/<name>[/<sub>]]" the namespaces themselves.
	// As in Kubernetes, "namespaces/<ns>/status" and
	// "namespaces/<ns>/finalize" are subresources of the namespace.
	if len(parts) >= 3 && parts[0] == "namespaces" && !(len(parts) == 3 && (parts[2] == "status" || parts[2] == "finalize")) {
		ri.Namespace, parts = parts[1], parts[2:]
	}
	if len(parts) >= 3 && parts[0] == "nodes" && parts[2] == "proxy" && ri.Namespace == "" && !watchPath {
		ri.ProxyPath = "/" + strings.Join(parts[3:], "/")
		parts = parts[:3]
	}
	switch len(parts) {
	case 1:
		ri.Resource = parts[0]
	case 2:
		ri.Resource, ri.Name = parts[0], parts[1]
	case 3:
		ri.Resource, ri.Name, ri.Subresource = parts[0], parts[1], parts[2]
	default:
		return ri, false
	}
	if ri.Resource == "namespaces" && ri.Namespace == "" && ri.Name != "" {
		// GET /api/v1/namespaces/foo: the namespace foo.
		ri.Namespace = ri.Name
	}
	q := r.URL.Query()
	isWatch := watchPath || q.Get("watch") == "true" || q.Get("watch") == "1"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case isWatch:
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		default:
			ri.Verb = "get"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		} else {
			ri.Verb = "delete"
		}
	default:
		ri.Verb = strings.ToLower(r.Method)
	}
	// A connection to a container is a create whatever the method: the
	// websocket protocols must use GET, and Kubernetes authorizes them as
	// create since 1.31 so that get rights do not open a shell.
	if ri.Subresource == "exec" && (ri.Verb == "get" || ri.Verb == "create") {
		ri.Verb = "create"
	}
	return ri, true
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
