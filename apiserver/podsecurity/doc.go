// Package podsecurity enforces Kubernetes' Pod Security Standards on the
// pods the API server admits.
//
// A namespace selects a level with its pod-security.kubernetes.io/enforce
// label (LevelOf): privileged checks nothing, baseline refuses the known
// privilege escalations, restricted adds the current hardening practice.
// Check returns one field.Forbidden per offending field, with the path and
// the "violates PodSecurity" message kube-apiserver's PodSecurity
// admission plugin gives, so kubectl users see what they already know.
//
// The rules are those of the newest policy version ("latest"); the
// pod-security.kubernetes.io/enforce-version label is not read. Where
// Kubernetes relaxes a rule for pods in a user namespace (hostUsers:
// false) or for Windows pods, Skiff does not: it neither runs Windows pods
// nor guarantees user namespaces, so relaxing would trust a promise the
// worker may not keep.
//
// Like package validation the package is pure: no I/O, no clock, no
// global mutable state. The caller reads the namespace's labels and turns
// the errors into a 422 Invalid status.
package podsecurity
