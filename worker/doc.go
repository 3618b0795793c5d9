// Package worker is Skiff's node agent (its kubelet). It joins the
// cluster's gossip, trades the cluster token for a node credential, keeps
// its Node and Lease current through the Kubernetes API, and makes the pods
// bound to its node real through a [Runtime] (containerd in production, see
// worker/containerd).
//
// The worker sees the cluster only through client-go: it never imports
// fsm, apiserver or server. Its pod logic (sync, back-off, probes, status)
// is written against the small Runtime interface it owns, so unit tests
// drive it with a fake and integration tests with a real containerd.
package worker
