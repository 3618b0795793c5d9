// Package auth authenticates API requests by bearer token and authorizes
// them by role.
//
// Three kinds of token are accepted:
//   - the shared cluster token, which servers present to each other and
//     workers present to register (role RoleCluster, no Kubernetes API);
//   - the built-in admin token, derived from the cluster token by
//     AdminToken so every server can write an admin kubeconfig without a
//     stored secret;
//   - issued tokens ("skf1.<id>.<secret>", from NewToken), whose
//     TokenRecord, holding only a SHA-256 hash of the token, lives in the
//     store under TokenKey(id).
//
// Authorize is a pure function of a User and the request's Attributes; it
// does no I/O, so callers fetch what it needs (a pod's spec.nodeName)
// first. The package imports only the standard library.
package auth
