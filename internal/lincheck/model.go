package lincheck

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/anishathalye/porcupine"
)

// Kind is an operation's type.
type Kind uint8

// Operation kinds.
const (
	Get Kind = iota + 1
	Create
	Update
	CAS
	Delete
)

func (k Kind) String() string {
	switch k {
	case Get:
		return "get"
	case Create:
		return "create"
	case Update:
		return "update"
	case CAS:
		return "cas"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Result is what the store answered.
type Result uint8

// Results. OK means the operation took effect (a Get found the key);
// NotFound that the key was absent; Exists that a Create found it
// present; Conflict that a CAS found another value; Unknown that the
// client does not know whether a write took effect.
const (
	OK Result = iota + 1
	NotFound
	Exists
	Conflict
	Unknown
)

func (r Result) String() string {
	switch r {
	case OK:
		return "ok"
	case NotFound:
		return "not-found"
	case Exists:
		return "exists"
	case Conflict:
		return "conflict"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("result(%d)", r)
}

// Input is an operation as the client issued it.
type Input struct {
	Kind Kind
	Key  string
	// Value is what Create, Update and CAS write.
	Value string
	// Expect is the value a CAS requires the key to hold.
	Expect string
}

// Output is the store's answer.
type Output struct {
	Result Result
	// Value is what a successful Get read.
	Value string
	// Rev is the revision a successful Get read or a successful write
	// created; 0 if the answer did not carry one.
	Rev uint64
}

// register is one key's state. Rev 0 means the revision is not known (the
// write that set the value had an unknown outcome).
type register struct {
	Exists bool
	Value  string
	Rev    uint64
}

// step applies one operation to a register; ok reports whether the
// output is possible from that state.
func step(s register, in Input, out Output) (bool, register) {
	written := register{Exists: true, Value: in.Value, Rev: out.Rev}
	switch in.Kind {
	case Get:
		switch out.Result {
		case OK:
			if !s.Exists || s.Value != out.Value || (s.Rev != 0 && out.Rev != 0 && s.Rev != out.Rev) {
				return false, s
			}
			if s.Rev == 0 {
				s.Rev = out.Rev
			}
			return true, s
		case NotFound:
			return !s.Exists, s
		}
	case Create:
		switch out.Result {
		case OK:
			return !s.Exists, written
		case Exists:
			return s.Exists, s
		case Unknown:
			if !s.Exists {
				return true, register{Exists: true, Value: in.Value}
			}
			return true, s
		}
	case Update:
		switch out.Result {
		case OK:
			return s.Exists, written
		case NotFound:
			return !s.Exists, s
		case Unknown:
			if s.Exists {
				return true, register{Exists: true, Value: in.Value}
			}
			return true, s
		}
	case CAS:
		match := s.Exists && s.Value == in.Expect
		switch out.Result {
		case OK:
			return match, written
		case Conflict:
			return s.Exists && !match, s
		case NotFound:
			return !s.Exists, s
		case Unknown:
			if match {
				return true, register{Exists: true, Value: in.Value}
			}
			return true, s
		}
	case Delete:
		switch out.Result {
		case OK:
			return s.Exists, register{}
		case NotFound:
			return !s.Exists, s
		case Unknown:
			return true, register{}
		}
	}
	return false, s
}

// Model is the porcupine model of the store, partitioned by key.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(Input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return register{} },
	Step: func(state, input, output any) (bool, any) {
		return step(state.(register), input.(Input), output.(Output))
	},
	Hash: func(state any) uint64 {
		s := state.(register)
		h := fnv.New64a()
		fmt.Fprintf(h, "%t/%s/%d", s.Exists, s.Value, s.Rev)
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		switch in.Kind {
		case Get:
			if out.Result == OK {
				return fmt.Sprintf("get(%s) → %s @%d", in.Key, out.Value, out.Rev)
			}
			return fmt.Sprintf("get(%s) → %s", in.Key, out.Result)
		case CAS:
			return fmt.Sprintf("cas(%s, %s→%s) → %s @%d", in.Key, in.Expect, in.Value, out.Result, out.Rev)
		case Delete:
			return fmt.Sprintf("delete(%s) → %s", in.Key, out.Result)
		}
		return fmt.Sprintf("%s(%s, %s) → %s @%d", in.Kind, in.Key, in.Value, out.Result, out.Rev)
	},
	DescribeState: func(state any) string {
		s := state.(register)
		if !s.Exists {
			return "absent"
		}
		return fmt.Sprintf("%s @%d", s.Value, s.Rev)
	},
}
