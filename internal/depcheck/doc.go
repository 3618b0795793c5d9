// Package depcheck holds no code, only a test that enforces the import rules
// of DESIGN.md with `go list -deps`: which packages may import viper, the
// state machine, Raft's storage or memberlist. A rule about a package that
// does not exist yet passes until the package appears.
package depcheck
