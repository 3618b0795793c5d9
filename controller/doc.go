// Package controller builds Skiff's controller manager: the leader-only
// reconcilers of the workload API (replica sets, deployments, garbage
// collection, namespaces, service accounts), each in a subpackage of its
// own, all fed from one client-go SharedInformerFactory.
//
// Every controller is level-triggered: informer events only put keys on a
// rate-limited work queue; a sync re-reads the object and what it owns from
// the listers and writes through the API what differs. Controllers never
// import fsm, apiserver or server (internal/depcheck enforces it).
package controller
