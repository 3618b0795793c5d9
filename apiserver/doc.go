// Package apiserver is Skiff's Kubernetes-conformant REST API: the only
// door to the store. It routes /api and /apis requests, decodes and
// validates k8s.io/api objects, keeps them as JSON under
// /registry/<resource>/<namespace>/<name>, serves list and watch with
// Kubernetes' resourceVersion semantics, and answers errors as
// metav1.Status.
//
// It sees the store through the small Store interface; the server package
// hands it a Raft replica, tests may hand it a local fsm.Store.
package apiserver
