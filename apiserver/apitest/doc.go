// Package apitest serves package apiserver's Kubernetes API over a local,
// unreplicated store, for unit tests of the API itself: request handling,
// admission, error mapping. Tests that need Raft, several servers or
// authentication use package testcluster instead.
package apitest
