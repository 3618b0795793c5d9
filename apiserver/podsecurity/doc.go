// Package podsecurity enforces Kubernetes' Pod Security Standards on the
// pods the API server admits.
//
// A namespace selects a level with its pod-security.kubernetes.io/enforce
// label (LevelOf): privileged checks nothing, baseline refuses the known
// privilege escalations, restricted adds the current hardening practice.
//
// The checks are those of k8s.io/pod-security-admission/policy, the
// library kube-apiserver's PodSecurity admission plugin runs, and not a
// port of them: a library the field already maintains beats a hand port,
// which drifts from the standards each release and whose messages differ
// from the ones kubectl users know. Checker builds the library's evaluator
// once and Check words a refusal exactly as kube-apiserver does, every
// violated control in one message:
//
//	violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "app" must not set securityContext.privileged=true)
//
// The caller answers it, as Kubernetes does, with 403 Forbidden.
//
// What stays Skiff's own:
//   - A namespace without the enforce label gets baseline (DefaultLevel);
//     Kubernetes leaves that to the cluster's admission configuration,
//     privileged out of the box.
//   - An enforce value that names no level selects restricted: a namespace
//     whose owner asked for some enforcement fails closed. Kubernetes
//     also fails closed there.
//   - The rules are those of the newest policy version ("latest"); the
//     enforce-version, warn and audit labels are not read.
//   - The library relaxes runAsNonRoot, runAsUser and procMount for a pod
//     in a user namespace (hostUsers: false). Skiff's worker does not
//     create user namespaces, so Check judges such a pod as if it had not
//     asked for one: relaxing would trust a promise the worker does not
//     keep. The library's relaxations for Windows pods never apply:
//     validation refuses spec.os.name windows before Pod Security runs.
//
// Like package validation the package is pure: no I/O, no clock, no
// global mutable state. The caller reads the namespace's labels.
package podsecurity
