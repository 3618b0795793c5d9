package auth

import (
	"errors"
	"testing"
)

var (
	admin    = User{Name: "admin", Role: RoleAdmin}
	readOnly = User{Name: "viewer", Role: RoleReadOnly}
	node1    = User{Name: "system:node:n1", Role: RoleNode, Node: "n1"}
	cluster  = User{Name: ClusterUserName, Role: RoleCluster}
	ctrl     = User{Name: "system:skiff:scheduler", Role: RoleController, Term: 3}
)

// attrs builds Attributes from verb, group, resource/subresource,
// namespace and name.
func attrs(verb, group, resource, sub, ns, name string) Attributes {
	return Attributes{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func podAttrs(verb, sub, boundTo string) Attributes {
	a := attrs(verb, "", "pods", sub, "default", "web-1")
	a.PodNodeName = boundTo
	return a
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name  string
		user  User
		attrs Attributes
		allow bool
	}{
		// Admin: everything.
		{"admin creates a deployment", admin, attrs("create", "apps", "deployments", "", "default", ""), true},
		{"admin deletes a collection of secrets", admin, attrs("deletecollection", "", "secrets", "", "default", ""), true},
		{"admin execs into a pod", admin, attrs("create", "", "pods", "exec", "default", "web-1"), true},
		{"admin uses an unknown verb", admin, attrs("escalate", "rbac.authorization.k8s.io", "roles", "", "", ""), true},

		// Controller: every resource, no connect subresources.
		{"controller binds a pod", ctrl, attrs("create", "", "pods", "binding", "default", "web-1"), true},
		{"controller deletes a replicaset", ctrl, attrs("delete", "apps", "replicasets", "", "default", "web"), true},
		{"controller reads secrets", ctrl, attrs("list", "", "secrets", "", "", ""), true},
		{"controller execs into a pod", ctrl, attrs("create", "", "pods", "exec", "default", "web-1"), false},
		{"controller proxies to a service", ctrl, attrs("get", "", "services", "proxy", "default", "web"), false},

		// Read-only: get, list, watch everything but secrets.
		{"read-only gets a pod", readOnly, attrs("get", "", "pods", "", "default", "web-1"), true},
		{"read-only lists deployments", readOnly, attrs("list", "apps", "deployments", "", "", ""), true},
		{"read-only watches nodes", readOnly, attrs("watch", "", "nodes", "", "", ""), true},
		{"read-only gets pod logs", readOnly, attrs("get", "", "pods", "log", "default", "web-1"), true},
		{"read-only gets deployment scale", readOnly, attrs("get", "apps", "deployments", "scale", "default", "web"), true},
		{"read-only gets configmaps", readOnly, attrs("get", "", "configmaps", "", "default", "cfg"), true},
		{"read-only lists pod metrics", readOnly, attrs("list", "metrics.k8s.io", "pods", "", "default", ""), true},
		{"read-only proxies to a node", readOnly, attrs("get", "", "nodes", "proxy", "", "w1"), false},
		{"read-only imports through a node", readOnly, attrs("create", "", "nodes", "proxy", "", "w1"), false},
		{"read-only gets a secret", readOnly, attrs("get", "", "secrets", "", "default", "s"), false},
		{"read-only lists secrets", readOnly, attrs("list", "", "secrets", "", "", ""), false},
		{"read-only watches secrets", readOnly, attrs("watch", "", "secrets", "", "default", ""), false},
		{"read-only creates a pod", readOnly, attrs("create", "", "pods", "", "default", ""), false},
		{"read-only updates a deployment", readOnly, attrs("update", "apps", "deployments", "", "default", "web"), false},
		{"read-only patches a service", readOnly, attrs("patch", "", "services", "", "default", "web"), false},
		{"read-only deletes a pod", readOnly, attrs("delete", "", "pods", "", "default", "web-1"), false},
		{"read-only deletes a collection", readOnly, attrs("deletecollection", "", "pods", "", "default", ""), false},
		{"read-only execs through get", readOnly, attrs("get", "", "pods", "exec", "default", "web-1"), false},
		{"read-only port-forwards through get", readOnly, attrs("get", "", "pods", "portforward", "default", "web-1"), false},
		{"read-only proxies to a service", readOnly, attrs("get", "", "services", "proxy", "default", "web"), false},

		// Node: reads.
		{"node gets nodes", node1, attrs("get", "", "nodes", "", "", "n2"), true},
		{"node watches pods", node1, attrs("watch", "", "pods", "", "", ""), true},
		{"node lists services", node1, attrs("list", "", "services", "", "", ""), true},
		{"node watches endpoints", node1, attrs("watch", "", "endpoints", "", "", ""), true},
		{"node lists endpointslices", node1, attrs("list", "discovery.k8s.io", "endpointslices", "", "", ""), true},
		{"node gets a configmap", node1, attrs("get", "", "configmaps", "", "default", "cfg"), true},
		{"node watches namespaces", node1, attrs("watch", "", "namespaces", "", "", ""), true},
		{"node gets a pod's status", node1, attrs("get", "", "pods", "status", "default", "web-1"), true},
		{"node gets a secret", node1, attrs("get", "", "secrets", "", "default", "s"), true},
		{"node watches one secret", node1, attrs("watch", "", "secrets", "", "default", "s"), true},
		{"node lists all secrets", node1, attrs("list", "", "secrets", "", "default", ""), false},
		{"node watches all secrets", node1, attrs("watch", "", "secrets", "", "", ""), false},
		{"node lists deployments", node1, attrs("list", "apps", "deployments", "", "", ""), false},
		{"node lists endpointslices in the core group", node1, attrs("list", "", "endpointslices", "", "", ""), false},
		{"node gets leases of others", node1, attrs("get", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), false},
		{"node lists leases", node1, attrs("list", "coordination.k8s.io", "leases", "", "kube-node-lease", ""), false},
		{"node reads pod logs", node1, attrs("get", "", "pods", "log", "default", "web-1"), false},

		// Node: its Node.
		{"node creates its Node", node1, attrs("create", "", "nodes", "", "", "n1"), true},
		{"node updates its Node", node1, attrs("update", "", "nodes", "", "", "n1"), true},
		{"node patches its Node", node1, attrs("patch", "", "nodes", "", "", "n1"), true},
		{"node updates its nodes/status", node1, attrs("update", "", "nodes", "status", "", "n1"), true},
		{"node patches its nodes/status", node1, attrs("patch", "", "nodes", "status", "", "n1"), true},
		{"node creates another Node", node1, attrs("create", "", "nodes", "", "", "n2"), false},
		{"node creates a Node without a name", node1, attrs("create", "", "nodes", "", "", ""), false},
		{"node updates another Node", node1, attrs("update", "", "nodes", "", "", "n2"), false},
		{"node patches another nodes/status", node1, attrs("patch", "", "nodes", "status", "", "n2"), false},
		{"node deletes its Node", node1, attrs("delete", "", "nodes", "", "", "n1"), false},
		{"node creates its nodes/status", node1, attrs("create", "", "nodes", "status", "", "n1"), false},
		{"node proxies to its Node", node1, attrs("get", "", "nodes", "proxy", "", "n1"), false},

		// Node: its Lease.
		{"node creates its lease", node1, attrs("create", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true},
		{"node updates its lease", node1, attrs("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true},
		{"node patches its lease", node1, attrs("patch", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true},
		{"node gets its lease", node1, attrs("get", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true},
		{"node updates another lease", node1, attrs("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), false},
		{"node updates its lease elsewhere", node1, attrs("update", "coordination.k8s.io", "leases", "", "default", "n1"), false},
		{"node deletes its lease", node1, attrs("delete", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), false},

		// Node: pods bound to it.
		{"node updates status of its pod", node1, podAttrs("update", "status", "n1"), true},
		{"node patches status of its pod", node1, podAttrs("patch", "status", "n1"), true},
		{"node deletes its pod", node1, podAttrs("delete", "", "n1"), true},
		{"node updates status of another's pod", node1, podAttrs("update", "status", "n2"), false},
		{"node patches status of an unbound pod", node1, podAttrs("patch", "status", ""), false},
		{"node deletes another's pod", node1, podAttrs("delete", "", "n2"), false},
		{"node deletes an unbound pod", node1, podAttrs("delete", "", ""), false},
		{"node updates its pod's spec", node1, podAttrs("update", "", "n1"), false},
		{"node patches its pod's spec", node1, podAttrs("patch", "", "n1"), false},
		{"node creates a pod", node1, podAttrs("create", "", "n1"), false},
		{"node binds a pod", node1, podAttrs("create", "binding", "n1"), false},
		{"node execs into its pod", node1, podAttrs("create", "exec", "n1"), false},
		{"node deletes a collection of pods", node1, podAttrs("deletecollection", "", "n1"), false},
		{"node without a name deletes an unbound pod", User{Name: "x", Role: RoleNode}, podAttrs("delete", "", ""), false},
		{"node without a name creates a nameless Node", User{Name: "x", Role: RoleNode}, attrs("create", "", "nodes", "", "", ""), false},

		// Node: events.
		{"node creates an event", node1, attrs("create", "", "events", "", "default", ""), true},
		{"node creates an events.k8s.io event", node1, attrs("create", "events.k8s.io", "events", "", "default", ""), true},
		{"node patches an event (a repeat counted up)", node1, attrs("patch", "", "events", "", "default", "e"), true},
		{"node deletes an event", node1, attrs("delete", "", "events", "", "default", "e"), false},
		{"node lists events", node1, attrs("list", "", "events", "", "default", ""), false},

		// Node: everything else.
		{"node creates a secret", node1, attrs("create", "", "secrets", "", "default", ""), false},
		{"node updates a configmap", node1, attrs("update", "", "configmaps", "", "default", "cfg"), false},
		{"node creates a deployment", node1, attrs("create", "apps", "deployments", "", "default", ""), false},
		{"node deletes a namespace", node1, attrs("delete", "", "namespaces", "", "", "default"), false},
		{"node updates endpoints", node1, attrs("update", "", "endpoints", "", "default", "web"), false},

		// Cluster: nothing in the Kubernetes API.
		{"cluster gets a pod", cluster, attrs("get", "", "pods", "", "default", "web-1"), false},
		{"cluster lists nodes", cluster, attrs("list", "", "nodes", "", "", ""), false},
		{"cluster creates a node", cluster, attrs("create", "", "nodes", "", "", "n1"), false},

		// Unknown roles and the zero user: nothing.
		{"unknown role", User{Name: "x", Role: "root"}, attrs("get", "", "pods", "", "", ""), false},
		{"zero user", User{}, attrs("get", "", "namespaces", "", "", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.user, tt.attrs)
			if tt.allow && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.allow {
				if err == nil {
					t.Fatal("allowed")
				}
				var fe *ForbiddenError
				if !errors.Is(err, ErrForbidden) || !errors.As(err, &fe) || fe.User != tt.user.Name {
					t.Fatalf("error %v (%T) is not a ForbiddenError for %q", err, err, tt.user.Name)
				}
			}
		})
	}
}

func TestForbiddenMessage(t *testing.T) {
	tests := []struct {
		name  string
		user  User
		attrs Attributes
		want  string
	}{
		{"namespaced", readOnly, attrs("create", "apps", "deployments", "", "default", ""),
			`User "viewer" cannot create resource "deployments" in API group "apps" in the namespace "default"`},
		{"cluster scope", readOnly, attrs("delete", "", "nodes", "", "", "n1"),
			`User "viewer" cannot delete resource "nodes" in API group "" at the cluster scope`},
		{"subresource and reason", node1, podAttrs("update", "status", "n2"),
			`User "system:node:n1" cannot update resource "pods/status" in API group "" in the namespace "default": node "n1" may not change pods bound to "n2"`},
		{"another node's object", node1, attrs("patch", "", "nodes", "", "", "n2"),
			`User "system:node:n1" cannot patch resource "nodes" in API group "" at the cluster scope: node "n1" may only change its own node`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.user, tt.attrs)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant    %s", err, tt.want)
			}
		})
	}
}
