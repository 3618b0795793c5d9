// Package deployment is the Deployment controller. A Deployment owns
// ReplicaSets named "<deployment>-<pod-template-hash>"; the one whose
// template equals the Deployment's is the new ReplicaSet, the others are
// old. Each sync re-reads the Deployment and its ReplicaSets from the
// informer caches and moves them one step:
//
//   - scaling (spec.replicas changed mid-rollout): Scale spreads the change
//     over the active ReplicaSets in proportion to their size;
//   - RollingUpdate: RollingStep scales the new ReplicaSet up within
//     maxSurge, or old ones down within maxUnavailable;
//   - Recreate: RecreateStep scales every old ReplicaSet to zero, waits for
//     their pods to go, then scales the new one up.
//
// The steps are pure functions of (deployment, replica sets) tested with
// table and property tests; the controller applies them, keeps the
// revision annotations kubectl's rollout commands read, deletes history
// beyond revisionHistoryLimit, and writes a status kubectl rollout status
// understands (Available and Progressing conditions, progress deadline).
package deployment
