// Package pki is Skiff's small certificate authority: it creates or loads
// the cluster CA, issues server and client certificates signed by it, builds
// the tls.Configs that serve and trust them, and writes kubeconfig files that
// point kubectl and client-go at a server.
//
// Time is an input (now), never read from the wall clock, so tests can pin
// validity windows. Keys are ECDSA P-256 and are PEM-encoded as
// "EC PRIVATE KEY"; LoadCA also reads PKCS#8 and PKCS#1 keys so an operator
// may bring a CA made elsewhere.
package pki
