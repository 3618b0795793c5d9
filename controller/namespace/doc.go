// Package namespace is the namespace controller: when a namespace is
// deleted (the apiserver keeps it in phase Terminating while its
// "kubernetes" finalizer is there), it deletes every namespaced object in
// it, resource by resource as discovery lists them, waits until nothing is
// left (pods waiting for their node, objects with finalizers), then removes
// the finalizer through the namespaces/{name}/finalize subresource so the
// apiserver deletes the namespace.
package namespace
