// Package cli implements the skiff command line: `skiff server` and
// `skiff dev` run a control-plane server, `skiff version` prints the build,
// the client commands (`skiff cluster ...`, `skiff snapshot ...`) speak
// HTTP to a server's operator API under /skiff/v1/operator, and
// `skiff bench api` loads the Kubernetes API through client-go with the
// credentials of a kubeconfig.
//
// The commands are thin: configuration comes from package config, the server
// from package server, and everything a command needs from the process (its
// arguments, output streams and environment) is passed in, so the commands
// run in-process in tests.
package cli
