package fsm

import (
	"errors"
	"fmt"
)

// Code is the outcome of applying a command. Codes are part of the
// replicated behaviour and travel between servers, so numbers are
// append-only.
type Code uint8

const (
	// CodeOK means the command was applied.
	CodeOK Code = 0
	// CodeKeyExists means a create found its key present.
	CodeKeyExists Code = 1
	// CodeKeyNotFound means an update or delete found its key absent.
	CodeKeyNotFound Code = 2
	// CodeConflict means an expected revision did not match.
	CodeConflict Code = 3
	// CodeSkipped means the command had an unknown, ignorable op.
	CodeSkipped Code = 4
	// CodeFenced means a fenced command was committed in a term other than
	// its own; nothing was written.
	CodeFenced Code = 5
)

// Sentinel errors for failed conditions; Result.Err wraps one of them.
var (
	ErrKeyExists   = errors.New("key already exists")
	ErrKeyNotFound = errors.New("key not found")
	ErrConflict    = errors.New("revision mismatch")
	// ErrFenced means a command fenced to one Raft term was committed in
	// another: leadership changed since its writer was started.
	ErrFenced = errors.New("fenced: leadership changed")
)

// Result is what applying one command produced. It is the same on every
// replica.
type Result struct {
	// Rev is the revision of the entry: the Raft log index. On success it is
	// the new mod revision of every key the command wrote.
	Rev  uint64
	Code Code
	// Failed names the key whose condition failed, FailedIndex its position
	// in a txn (0 for a single command), and CurrentRev that key's mod
	// revision at the time (0 if absent).
	Failed      string
	FailedIndex int
	CurrentRev  uint64
	// Term, for CodeFenced, is the term the command was committed in (the
	// command's own term is the one its writer set).
	Term uint64 `json:",omitempty"`
}

// Err returns nil for CodeOK and CodeSkipped, otherwise an error wrapping
// ErrKeyExists, ErrKeyNotFound or ErrConflict.
func (r Result) Err() error {
	switch r.Code {
	case CodeOK, CodeSkipped:
		return nil
	case CodeKeyExists:
		return fmt.Errorf("%w: %q (mod revision %d)", ErrKeyExists, r.Failed, r.CurrentRev)
	case CodeKeyNotFound:
		return fmt.Errorf("%w: %q", ErrKeyNotFound, r.Failed)
	case CodeConflict:
		return fmt.Errorf("%w: %q is at revision %d", ErrConflict, r.Failed, r.CurrentRev)
	case CodeFenced:
		return fmt.Errorf("%w: the write was committed in term %d", ErrFenced, r.Term)
	}
	return fmt.Errorf("unknown result code %d", r.Code)
}
