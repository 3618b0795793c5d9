// Package lincheck records histories of operations on a key-value store
// and checks them for linearizability with porcupine.
//
// The model is a map of registers, one per key, partitioned by key. Each
// register is absent or holds a value and the revision that wrote it.
// Operations are Kubernetes-style: Get, Create (fails if present), Update
// (fails if absent), CAS (update only if the register still holds the
// value the client read) and Delete.
//
// Workloads must write unique values: the model decides a CAS by value,
// which equals deciding it by revision only when no two writes write the
// same value.
//
// An operation whose outcome the client could not learn (a timeout, a
// lost connection, a 5xx) is recorded with Unknown and never returns: the
// checker may place its effect anywhere after its call, including never.
package lincheck
