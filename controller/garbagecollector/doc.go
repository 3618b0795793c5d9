// Package garbagecollector deletes what nobody owns any more, following
// metadata.ownerReferences as Kubernetes' garbage collector does:
//
//   - background: a dependent whose owners are all gone is deleted;
//   - foreground: an owner deleted with the foregroundDeletion finalizer
//     has its dependents deleted (foreground too), and loses the finalizer
//     once no dependent with blockOwnerDeletion is left;
//   - orphan: an owner deleted with the orphan finalizer has its references
//     stripped from its dependents, then loses the finalizer.
//
// It knows the kinds Skiff serves that carry owner references (Kinds) and
// watches them through the shared informer factory with an index by owner
// UID. An owner missing from the cache is confirmed missing with a live
// read before anything is deleted; an owner of an unknown kind is assumed
// alive. A second loop deletes finished pods beyond a threshold, oldest
// first (Kubernetes' terminated-pod GC, default 12500).
package garbagecollector
