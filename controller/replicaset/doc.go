// Package replicaset is the ReplicaSet controller: it keeps the number of
// active pods a ReplicaSet controls equal to spec.replicas.
//
// A sync re-reads the ReplicaSet and the pods of its namespace from the
// informer caches, adopts orphans its selector matches and releases pods
// that stop matching (package ownership), creates pods from the template
// with generateName "<rs>-" or deletes the pods DeletionOrder ranks first
// (unscheduled, then not ready, then newest), and writes the status when it
// changed. Expectations hold the next create or delete back until the
// controller's own writes are observed, so a stale cache never makes it
// create a duplicate or delete twice.
package replicaset
