package auth

import (
	"errors"
	"fmt"
	"slices"
)

// Attributes describe what a request asks to do.
type Attributes struct {
	// Verb is one of get, list, watch, create, update, patch, delete and
	// deletecollection.
	Verb                                    string
	Group, Resource, Subresource, Namespace string
	// Name is the object's name from the URL. For node users the caller
	// also fills it with the object's name when a Node or Lease is created
	// (a create's URL names no object), and with the name a list or watch
	// of secrets is narrowed to by the field selector metadata.name, as
	// kube-apiserver does.
	Name string
	// PodNodeName is, for requests on a pod, the spec.nodeName of the pod
	// as stored (never as sent in the request body), filled by the caller
	// after reading it.
	PodNodeName string
}

// ErrForbidden matches, through errors.Is, every error Authorize returns.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is Authorize's refusal. Its message reads like
// Kubernetes' so callers can put it in a 403 Status unchanged.
type ForbiddenError struct {
	User       string
	Attributes Attributes
	// Reason, when set, says why a node user was refused.
	Reason string
}

func (e *ForbiddenError) Error() string {
	a := e.Attributes
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	var msg string
	if a.Namespace != "" {
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", e.User, a.Verb, resource, a.Group, a.Namespace)
	} else {
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", e.User, a.Verb, resource, a.Group)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Authorize returns nil when u may do what a describes, and a
// *ForbiddenError otherwise.
//
//   - RoleAdmin may do everything.
//   - RoleReadOnly may get, list and watch every resource but secrets;
//     never the subresources that reach into containers or through
//     proxies (exec, attach, portforward, proxy).
//   - RoleNode (a worker) may get, list and watch nodes, pods, services,
//     endpoints, endpointslices, configmaps and namespaces; get secrets,
//     and list or watch them narrowed to one name; create, update and
//     patch its own Node and its nodes/status; get, create, update and
//     patch its Lease in kube-node-lease; update and patch the status of
//     pods bound to it, and delete them; and create, update and patch events.
//   - RoleController (the leader's scheduler and controllers) may do
//     everything in the API but the subresources that reach into
//     containers or through proxies.
//   - RoleCluster, and any other role, may do nothing.
func Authorize(u User, a Attributes) error {
	var reason string
	switch u.Role {
	case RoleAdmin:
		return nil
	case RoleReadOnly:
		if isRead(a.Verb) && a.Resource != "secrets" && !isConnect(a.Subresource) {
			return nil
		}
	case RoleController:
		if !isConnect(a.Subresource) {
			return nil
		}
	case RoleNode:
		var ok bool
		if ok, reason = authorizeNode(u.Node, a); ok {
			return nil
		}
	}
	return &ForbiddenError{User: u.Name, Attributes: a, Reason: reason}
}

// Groups, namespaces and subresources the rules name.
const (
	groupCore          = ""
	groupDiscovery     = "discovery.k8s.io"
	groupCoordination  = "coordination.k8s.io"
	groupEvents        = "events.k8s.io"
	nodeLeaseNamespace = "kube-node-lease"
	statusSubresource  = "status"
)

// nodeReadable lists what a node may get, list and watch (with its status
// subresource), by group.
var nodeReadable = map[string][]string{
	groupCore:      {"nodes", "pods", "services", "endpoints", "configmaps", "namespaces"},
	groupDiscovery: {"endpointslices"},
}

// authorizeNode holds the rules of a worker whose node is named node:
//   - get, list and watch nodes, pods, services, endpoints, endpointslices,
//     configmaps and namespaces, and their status;
//   - get secrets, and list or watch them narrowed to one name;
//   - create, update and patch its own Node, and update and patch its
//     nodes/status;
//   - get, create, update and patch its Lease, named like the node, in
//     kube-node-lease;
//   - update and patch the status of pods bound to it, and delete them (to
//     confirm a graceful deletion);
//   - create, update and patch events.
//
// It returns false and, when the request was refused because it concerns
// another node's object, a reason.
func authorizeNode(node string, a Attributes) (bool, string) {
	if node == "" {
		return false, "the user names no node"
	}
	switch {
	case isRead(a.Verb) && (a.Subresource == "" || a.Subresource == statusSubresource) &&
		slices.Contains(nodeReadable[a.Group], a.Resource):
		return true, ""

	case a.Group == groupCore && a.Resource == "secrets" && a.Subresource == "":
		// TODO: allow only secrets referenced by pods bound to the node, as
		// Kubernetes' node authorizer does, once the API server keeps that
		// graph. Until then any node may read any secret by name.
		if a.Verb == "get" || ((a.Verb == "list" || a.Verb == "watch") && a.Name != "") {
			return true, ""
		}

	case a.Group == groupCore && a.Resource == "nodes":
		own := a.Subresource == "" && slices.Contains([]string{"create", "update", "patch"}, a.Verb) ||
			a.Subresource == statusSubresource && (a.Verb == "update" || a.Verb == "patch")
		if own {
			return ownedBy(node, a.Name, "node")
		}

	case a.Group == groupCoordination && a.Resource == "leases" && a.Subresource == "":
		if slices.Contains([]string{"get", "create", "update", "patch"}, a.Verb) {
			if a.Namespace != nodeLeaseNamespace {
				return false, fmt.Sprintf("node leases live in the namespace %q", nodeLeaseNamespace)
			}
			return ownedBy(node, a.Name, "lease")
		}

	case a.Group == groupCore && a.Resource == "pods":
		if a.Subresource == statusSubresource && (a.Verb == "update" || a.Verb == "patch") ||
			a.Subresource == "" && a.Verb == "delete" {
			if a.PodNodeName != node {
				return false, fmt.Sprintf("node %q may not change pods bound to %q", node, a.PodNodeName)
			}
			return true, ""
		}

	case (a.Group == groupCore || a.Group == groupEvents) && a.Resource == "events" && a.Subresource == "":
		// Update and patch too, as kubelets may: client-go's recorder
		// counts a repeated event up rather than creating it again.
		if a.Verb == "create" || a.Verb == "update" || a.Verb == "patch" {
			return true, ""
		}
	}
	return false, ""
}

// ownedBy allows a write to the object named name when it is the node's
// own.
func ownedBy(node, name, kind string) (bool, string) {
	if name != node {
		return false, fmt.Sprintf("node %q may only change its own %s", node, kind)
	}
	return true, ""
}

func isRead(verb string) bool {
	return verb == "get" || verb == "list" || verb == "watch"
}

// isConnect reports whether a subresource opens a stream into a container
// or through to a backend, which reading an object does not grant.
func isConnect(subresource string) bool {
	switch subresource {
	case "exec", "attach", "portforward", "proxy":
		return true
	}
	return false
}
