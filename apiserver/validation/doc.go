// Package validation holds Skiff's admission rules for the objects its API
// server serves: Kubernetes' defaulting and validation for the fields Skiff
// supports, plus refusals of the Kubernetes features Skiff does not
// implement.
//
// The package is pure: no I/O, no clock, no global mutable state. The API
// server calls Default on every incoming object, then Validate (create or
// update) or ValidateStatus (status subresource), and turns a non-empty
// field.ErrorList into a 422 Invalid status with apierrors.NewInvalid.
//
// Field paths and messages follow kube-apiserver's
// (pkg/apis/core/validation and friends), so kubectl and client-go users see
// the errors they already know. Where Skiff refuses something Kubernetes
// accepts, the error names the field and says "not supported by Skiff".
//
// What the package does not do, because it needs state or I/O, is left to
// the caller: generating names from generateName, allocating ClusterIPs and
// NodePorts (on create and on a type change to NodePort), resetting status
// on create, keeping the stored status or spec across main-resource and
// status updates, checking that referenced namespaces, nodes, ConfigMaps or
// Secrets exist, and computing a pod's QoS class.
package validation
