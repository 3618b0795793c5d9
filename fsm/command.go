package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op names a command type. Numbers are append-only: a number, once released,
// keeps its meaning forever, so old log entries replay the same way on new
// binaries.
type Op uint8

const (
	// OpCreate writes a key that must not exist.
	OpCreate Op = 1
	// OpUpdate replaces the value of an existing key; with Rev set it is a
	// compare-and-swap on the key's mod revision.
	OpUpdate Op = 2
	// OpDelete removes an existing key; with Rev set only at that mod
	// revision.
	OpDelete Op = 3
	// OpPut writes a key whether or not it exists.
	OpPut Op = 4
	// OpTxn applies its sub-commands all or nothing.
	OpTxn Op = 5
	// OpNoop changes nothing; it advances the revision (used to move the
	// revision past a restored snapshot's and to test ignorable commands).
	OpNoop Op = 6
)

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpPut:
		return "put"
	case OpTxn:
		return "txn"
	case OpNoop:
		return "noop"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// encodingVersion is the first byte of every encoded command.
const encodingVersion = 1

// flagIgnorable marks a command that a replica which does not know its Op may
// skip instead of stopping.
const flagIgnorable = 1 << 0

// flagFenced marks a command that carries a Raft term: the term, a uvarint,
// follows the flags byte.
const flagFenced = 1 << 1

// knownFlags are the flag bits this binary understands.
const knownFlags = flagIgnorable | flagFenced

// Limits on what a command may hold. MaxCommandSize matches etcd's default
// request limit; it is enforced before a command reaches Raft.
const (
	MaxCommandSize = 1536 * 1024
	MaxTxnOps      = 128
	MaxKeySize     = 4096
)

// Command is one replicated operation.
type Command struct {
	Op Op
	// Ignorable lets replicas that do not know Op skip the command.
	Ignorable bool
	Key       string
	Value     []byte
	// Rev is the expected mod revision for OpUpdate and OpDelete; 0 means
	// any revision.
	Rev uint64
	// Ops are the sub-commands of an OpTxn: creates, updates, deletes and
	// puts, at most MaxTxnOps, each key at most once.
	Ops []Command
	// Term fences the command: when non-zero, the command applies only if
	// Raft commits it in that term, and otherwise yields CodeFenced on
	// every replica. Leader-only components set it to the term they were
	// started in, so that a deposed leader's components cannot write on
	// the strength of an old view. Only a top-level command carries it.
	Term uint64
}

// Errors returned by Decode and Validate.
var (
	ErrUnknownOp      = errors.New("unknown command op")
	ErrBadEncoding    = errors.New("malformed command")
	ErrTooLarge       = errors.New("command exceeds the entry size limit")
	ErrInvalidCommand = errors.New("invalid command")
)

// Validate checks a command the way a proposer must before it reaches Raft:
// what Validate accepts, Decode on every replica accepts too.
func (c *Command) Validate() error {
	for i := range c.Ops {
		if c.Ops[i].Term != 0 {
			return fmt.Errorf("%w: txn op %d carries a term; fence the txn instead", ErrInvalidCommand, i)
		}
	}
	switch c.Op {
	case OpCreate, OpUpdate, OpDelete, OpPut:
		return c.validateSingle()
	case OpNoop:
		return nil
	case OpTxn:
		if len(c.Ops) == 0 || len(c.Ops) > MaxTxnOps {
			return fmt.Errorf("%w: txn needs 1 to %d ops, has %d", ErrInvalidCommand, MaxTxnOps, len(c.Ops))
		}
		seen := make(map[string]struct{}, len(c.Ops))
		for i := range c.Ops {
			sub := &c.Ops[i]
			if sub.Op == OpTxn || sub.Op == OpNoop {
				return fmt.Errorf("%w: txn op %d: %s is not allowed inside a txn", ErrInvalidCommand, i, sub.Op)
			}
			if err := sub.validateSingle(); err != nil {
				return fmt.Errorf("txn op %d: %w", i, err)
			}
			if _, dup := seen[sub.Key]; dup {
				return fmt.Errorf("%w: txn op %d: key %q appears twice", ErrInvalidCommand, i, sub.Key)
			}
			seen[sub.Key] = struct{}{}
		}
		return nil
	}
	return fmt.Errorf("%w: %d", ErrUnknownOp, uint8(c.Op))
}

func (c *Command) validateSingle() error {
	switch c.Op {
	case OpCreate, OpUpdate, OpDelete, OpPut:
	default:
		return fmt.Errorf("%w: %d", ErrUnknownOp, uint8(c.Op))
	}
	if c.Key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidCommand)
	}
	if len(c.Key) > MaxKeySize {
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalidCommand, MaxKeySize)
	}
	if c.Op == OpDelete && len(c.Value) > 0 {
		return fmt.Errorf("%w: delete carries a value", ErrInvalidCommand)
	}
	if (c.Op == OpCreate || c.Op == OpPut) && c.Rev != 0 {
		return fmt.Errorf("%w: %s carries an expected revision", ErrInvalidCommand, c.Op)
	}
	if len(c.Ops) > 0 {
		return fmt.Errorf("%w: %s carries sub-commands", ErrInvalidCommand, c.Op)
	}
	return nil
}

// Encode validates c and returns its binary form:
//
//	version(1) op(1) flags(1) [term] body
//
// where term, a uvarint, is present when the fenced flag is set, and
// the body of create and put is key value, of update key value rev, of
// delete key rev, of txn a count followed by op+body per sub-command, and of
// noop empty. Strings and byte slices are uvarint-length-prefixed; revisions
// are uvarints.
func Encode(c *Command) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	size := c.encodedSize()
	if size > MaxCommandSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, MaxCommandSize)
	}
	b := make([]byte, 0, size)
	var flags byte
	if c.Ignorable {
		flags |= flagIgnorable
	}
	if c.Term != 0 {
		flags |= flagFenced
	}
	b = append(b, encodingVersion, byte(c.Op), flags)
	if c.Term != 0 {
		b = binary.AppendUvarint(b, c.Term)
	}
	return c.appendBody(b), nil
}

// encodedSize is the exact length Encode produces.
func (c *Command) encodedSize() int {
	n := 3 + c.encodedBodySize()
	if c.Term != 0 {
		n += uvarintSize(c.Term)
	}
	return n
}

// encodedBodySize is the exact length appendBody produces, so the size
// limit is enforced on the real entry size, not an estimate.
func (c *Command) encodedBodySize() int {
	switch c.Op {
	case OpCreate, OpPut:
		return bytesSize(len(c.Key)) + bytesSize(len(c.Value))
	case OpUpdate:
		return bytesSize(len(c.Key)) + bytesSize(len(c.Value)) + uvarintSize(c.Rev)
	case OpDelete:
		return bytesSize(len(c.Key)) + uvarintSize(c.Rev)
	case OpTxn:
		n := uvarintSize(uint64(len(c.Ops)))
		for i := range c.Ops {
			n += 1 + c.Ops[i].encodedBodySize()
		}
		return n
	}
	return 0
}

func uvarintSize(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func bytesSize(n int) int { return uvarintSize(uint64(n)) + n }

func (c *Command) appendBody(b []byte) []byte {
	switch c.Op {
	case OpCreate, OpPut:
		b = appendBytes(b, []byte(c.Key))
		b = appendBytes(b, c.Value)
	case OpUpdate:
		b = appendBytes(b, []byte(c.Key))
		b = appendBytes(b, c.Value)
		b = binary.AppendUvarint(b, c.Rev)
	case OpDelete:
		b = appendBytes(b, []byte(c.Key))
		b = binary.AppendUvarint(b, c.Rev)
	case OpTxn:
		b = binary.AppendUvarint(b, uint64(len(c.Ops)))
		for i := range c.Ops {
			b = append(b, byte(c.Ops[i].Op))
			b = c.Ops[i].appendBody(b)
		}
	}
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// Decode parses an encoded command. A command whose Op this binary does not
// know yields ErrUnknownOp; the returned command then has Op and Ignorable
// set so the caller can decide whether to skip it. Decoded values alias b.
func Decode(b []byte) (Command, error) {
	if len(b) < 3 {
		return Command{}, fmt.Errorf("%w: %d bytes", ErrBadEncoding, len(b))
	}
	if b[0] != encodingVersion {
		return Command{}, fmt.Errorf("%w: encoding version %d", ErrBadEncoding, b[0])
	}
	c := Command{Op: Op(b[1]), Ignorable: b[2]&flagIgnorable != 0}
	if b[2]&^knownFlags != 0 {
		return c, fmt.Errorf("%w: unknown flags %#x", ErrBadEncoding, b[2])
	}
	d := decoder{b: b[3:]}
	if b[2]&flagFenced != 0 {
		c.Term = d.uvarint()
		if d.err == nil && c.Term == 0 {
			d.fail("fenced command with term 0")
		}
		if d.err != nil {
			return c, d.err
		}
	}
	switch c.Op {
	case OpCreate, OpUpdate, OpDelete, OpPut, OpNoop:
		d.body(&c)
	case OpTxn:
		n := d.uvarint()
		if d.err == nil && (n == 0 || n > MaxTxnOps) {
			d.fail("txn op count %d", n)
		}
		if d.err == nil {
			c.Ops = make([]Command, n)
		}
		for i := 0; d.err == nil && i < int(n); i++ {
			c.Ops[i].Op = Op(d.byte())
			if d.err != nil {
				break
			}
			switch c.Ops[i].Op {
			case OpCreate, OpUpdate, OpDelete, OpPut:
				d.body(&c.Ops[i])
			default:
				d.fail("txn op %d: op %d not allowed", i, c.Ops[i].Op)
			}
		}
	default:
		return c, fmt.Errorf("%w: %d", ErrUnknownOp, uint8(c.Op))
	}
	if d.err != nil {
		return c, d.err
	}
	if len(d.b) != 0 {
		return c, fmt.Errorf("%w: %d trailing bytes", ErrBadEncoding, len(d.b))
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadEncoding, err)
	}
	return c, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadEncoding, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds remaining %d bytes", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) body(c *Command) {
	switch c.Op {
	case OpCreate, OpPut:
		c.Key = string(d.bytes())
		c.Value = d.bytes()
	case OpUpdate:
		c.Key = string(d.bytes())
		c.Value = d.bytes()
		c.Rev = d.uvarint()
	case OpDelete:
		c.Key = string(d.bytes())
		c.Rev = d.uvarint()
	}
}
