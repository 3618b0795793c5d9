// Command gendocs writes docs/config-reference.md, the reference of every
// key of the server and worker configuration, from the key tables of
// package config (config.ServerKeys and config.WorkerKeys): the same tables
// the loader, the flags and the environment variables are built from, so
// the reference says what the binary does.
//
//	go run ./internal/gendocs -o docs/config-reference.md   (make docs)
//
// Its tests fail when the committed reference is stale, and when a
// relative link in README.md or docs/ points at nothing.
package main
