// Package abuse generates bad requests for a Kubernetes API server:
// malformed, mistyped, oversized and deeply nested bodies, stale
// resourceVersions, bad selectors, continue tokens and query values, wrong
// content types, methods, kinds, names and namespaces, unknown resources.
// Each Case carries the status codes a conformant server may answer, so a
// test can send thousands of them and check that every answer is a 4xx
// Kubernetes Status, never a 5xx, and that nothing was written.
//
// Generation is deterministic: a Generator built from the same seed and
// Options yields the same cases in the same order, so a failing case is
// reproduced by its seed and number. Classes take turns, so any run of N
// cases covers every class about N/len(Classes) times.
//
// Huge bodies are described, not held (see Body): a 64 MiB body costs no
// memory until it is sent, so a test can tell the server's allocations
// from its own.
package abuse
