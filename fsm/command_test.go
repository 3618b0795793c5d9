package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// roundTripCases are valid commands of every shape; FuzzDecode seeds its
// corpus with their encodings.
func roundTripCases() []struct {
	name string
	cmd  Command
} {
	maxTxn := make([]Command, MaxTxnOps)
	for i := range maxTxn {
		maxTxn[i] = putCmd(fmt.Sprintf("k%03d", i), "v")
	}
	return []struct {
		name string
		cmd  Command
	}{
		{"create", createCmd("/pods/a", "spec")},
		{"create empty value", createCmd("k", "")},
		{"create binary value", Command{Op: OpCreate, Key: "k", Value: []byte{0, 0xff, 0x80, '\n'}}},
		{"create max key", createCmd(strings.Repeat("k", MaxKeySize), "v")},
		{"update without rev", updateCmd("k", "v2", 0)},
		{"update with rev", updateCmd("k", "v2", 300)},
		{"update max rev", updateCmd("k", "v2", math.MaxUint64)},
		{"delete without rev", deleteCmd("k", 0)},
		{"delete with rev", deleteCmd("k", 7)},
		{"put", putCmd("k", "v")},
		{"noop", noopCmd()},
		{"noop ignorable", Command{Op: OpNoop, Ignorable: true}},
		{"create ignorable", Command{Op: OpCreate, Ignorable: true, Key: "k", Value: []byte("v")}},
		{"txn mixed", txnCmd(createCmd("a", "1"), updateCmd("b", "2", 5), updateCmd("c", "3", 0),
			deleteCmd("d", 9), deleteCmd("e", 0), putCmd("f", ""))},
		{"txn ignorable", Command{Op: OpTxn, Ignorable: true, Ops: []Command{putCmd("a", "1")}}},
		{"txn max ops", txnCmd(maxTxn...)},
		{"fenced create", Command{Op: OpCreate, Key: "k", Value: []byte("v"), Term: 7}},
		{"fenced max term", Command{Op: OpDelete, Key: "k", Rev: 3, Term: math.MaxUint64}},
		{"fenced txn", Command{Op: OpTxn, Term: 2, Ops: []Command{putCmd("a", "1"), deleteCmd("b", 4)}}},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := mustEncode(t, tc.cmd)
			if want := tc.cmd.encodedSize(); len(b) != want {
				t.Fatalf("encoded %d bytes, size computed as %d", len(b), want)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !commandsEqual(got, tc.cmd) {
				t.Fatalf("Decode(Encode(c)) = %+v, want %+v", got, tc.cmd)
			}
			again := mustEncode(t, got)
			if !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, b)
			}
		})
	}
}

// TestEncodeGolden pins the wire format: committed log entries are replayed
// by future binaries, so these bytes must never change.
func TestEncodeGolden(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		want []byte
	}{
		{"create", createCmd("a", "b"), []byte{1, 1, 0, 1, 'a', 1, 'b'}},
		{"update", updateCmd("a", "b", 300), []byte{1, 2, 0, 1, 'a', 1, 'b', 0xac, 0x02}},
		{"delete", deleteCmd("a", 0), []byte{1, 3, 0, 1, 'a', 0}},
		{"put", putCmd("a", ""), []byte{1, 4, 0, 1, 'a', 0}},
		{"txn", txnCmd(createCmd("a", "x"), deleteCmd("b", 7)),
			[]byte{1, 5, 0, 2, 1, 1, 'a', 1, 'x', 3, 1, 'b', 7}},
		{"noop ignorable", Command{Op: OpNoop, Ignorable: true}, []byte{1, 6, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustEncode(t, tc.cmd); !bytes.Equal(got, tc.want) {
				t.Fatalf("Encode = %x, want %x", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tooMany := make([]Command, MaxTxnOps+1)
	for i := range tooMany {
		tooMany[i] = putCmd(fmt.Sprintf("k%03d", i), "")
	}
	long := strings.Repeat("k", MaxKeySize+1)
	tests := []struct {
		name    string
		cmd     Command
		wantErr error // nil means valid
	}{
		{"valid create", createCmd("k", "v"), nil},
		{"valid noop", noopCmd(), nil},
		{"key at limit", putCmd(strings.Repeat("k", MaxKeySize), ""), nil},
		{"create empty key", createCmd("", "v"), ErrInvalidCommand},
		{"update empty key", updateCmd("", "v", 1), ErrInvalidCommand},
		{"delete empty key", deleteCmd("", 0), ErrInvalidCommand},
		{"put empty key", putCmd("", "v"), ErrInvalidCommand},
		{"key too long", putCmd(long, "v"), ErrInvalidCommand},
		{"delete with value", Command{Op: OpDelete, Key: "k", Value: []byte("v")}, ErrInvalidCommand},
		{"create with rev", Command{Op: OpCreate, Key: "k", Rev: 3}, ErrInvalidCommand},
		{"put with rev", Command{Op: OpPut, Key: "k", Rev: 3}, ErrInvalidCommand},
		{"single with sub-commands", Command{Op: OpPut, Key: "k", Ops: []Command{putCmd("a", "")}}, ErrInvalidCommand},
		{"txn empty", txnCmd(), ErrInvalidCommand},
		{"txn too many", txnCmd(tooMany...), ErrInvalidCommand},
		{"txn at limit", txnCmd(tooMany[:MaxTxnOps]...), nil},
		{"txn nested txn", txnCmd(putCmd("a", ""), txnCmd(putCmd("b", ""))), ErrInvalidCommand},
		{"txn noop inside", txnCmd(noopCmd()), ErrInvalidCommand},
		{"txn duplicate key", txnCmd(putCmd("a", "1"), deleteCmd("b", 0), updateCmd("a", "2", 0)), ErrInvalidCommand},
		{"txn invalid sub-command", txnCmd(putCmd("a", ""), createCmd("", "v")), ErrInvalidCommand},
		{"txn unknown sub-op", txnCmd(Command{Op: 200, Key: "a"}), ErrUnknownOp},
		{"unknown op 0", Command{Op: 0}, ErrUnknownOp},
		{"unknown op 200", Command{Op: 200, Key: "k"}, ErrUnknownOp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.Validate()
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tc.wantErr)
			}
			// Encode validates first, so it refuses exactly what
			// Validate refuses.
			_, encErr := Encode(&tc.cmd)
			if !errors.Is(encErr, tc.wantErr) || (tc.wantErr == nil) != (encErr == nil) {
				t.Fatalf("Encode() error = %v, want %v", encErr, tc.wantErr)
			}
		})
	}
}

func TestEncodeTooLarge(t *testing.T) {
	// Measure the framing around a value whose length needs as many
	// varint bytes as a value near the limit does.
	probe := mustEncode(t, Command{Op: OpCreate, Key: "k", Value: make([]byte, 1<<20)})
	overhead := len(probe) - 1<<20
	bigTxn := make([]Command, 4)
	for i := range bigTxn {
		bigTxn[i] = putCmd(fmt.Sprintf("k%d", i), strings.Repeat("v", MaxCommandSize/4))
	}
	tests := []struct {
		name     string
		cmd      Command
		wantErr  error
		wantSize int // checked when wantErr is nil
	}{
		{"at the limit", Command{Op: OpCreate, Key: "k", Value: make([]byte, MaxCommandSize-overhead)}, nil, MaxCommandSize},
		{"one byte over", Command{Op: OpCreate, Key: "k", Value: make([]byte, MaxCommandSize-overhead+1)}, ErrTooLarge, 0},
		{"value of MaxCommandSize", Command{Op: OpPut, Key: "k", Value: make([]byte, MaxCommandSize)}, ErrTooLarge, 0},
		{"update over", Command{Op: OpUpdate, Key: "k", Value: make([]byte, MaxCommandSize), Rev: 1}, ErrTooLarge, 0},
		{"txn values add up", txnCmd(bigTxn...), ErrTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(&tc.cmd)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Encode() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(b) != tc.wantSize {
				t.Fatalf("encoded %d bytes, want %d", len(b), tc.wantSize)
			}
			if _, err := Decode(b); err != nil {
				t.Fatalf("Decode: %v", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := mustEncode(t, txnCmd(createCmd("a", "1"), deleteCmd("b", 2)))
	overflow := append([]byte{1, 3, 0, 1, 'k'}, bytes.Repeat([]byte{0xff}, 10)...)
	longKey := append([]byte{1, 4, 0, 0x81, 0x20}, bytes.Repeat([]byte{'k'}, MaxKeySize+1)...)
	longKey = append(longKey, 0)
	tests := []struct {
		name          string
		in            []byte
		wantErr       error
		wantOp        Op // checked for ErrUnknownOp
		wantIgnorable bool
	}{
		{"nil", nil, ErrBadEncoding, 0, false},
		{"one byte", []byte{1}, ErrBadEncoding, 0, false},
		{"two bytes", []byte{1, 6}, ErrBadEncoding, 0, false},
		{"version 0", []byte{0, 6, 0}, ErrBadEncoding, 0, false},
		{"version 2", []byte{2, 6, 0}, ErrBadEncoding, 0, false},
		{"unknown flag", []byte{1, 6, 2}, ErrBadEncoding, 0, false},
		{"unknown high flag", []byte{1, 6, 0x81}, ErrBadEncoding, 0, false},
		{"trailing byte", append(append([]byte{}, valid...), 0), ErrBadEncoding, 0, false},
		{"noop with body", []byte{1, 6, 0, 0}, ErrBadEncoding, 0, false},
		{"truncated key length", []byte{1, 1, 0}, ErrBadEncoding, 0, false},
		{"key longer than input", []byte{1, 1, 0, 5, 'a'}, ErrBadEncoding, 0, false},
		{"missing value", []byte{1, 1, 0, 1, 'a'}, ErrBadEncoding, 0, false},
		{"missing rev", []byte{1, 2, 0, 1, 'a', 0}, ErrBadEncoding, 0, false},
		{"truncated rev varint", []byte{1, 3, 0, 1, 'a', 0x80}, ErrBadEncoding, 0, false},
		{"overflowing varint", overflow, ErrBadEncoding, 0, false},
		{"empty key", []byte{1, 4, 0, 0, 0}, ErrBadEncoding, 0, false},
		{"key too long", longKey, ErrBadEncoding, 0, false},
		{"txn zero ops", []byte{1, 5, 0, 0}, ErrBadEncoding, 0, false},
		{"txn too many ops", []byte{1, 5, 0, MaxTxnOps + 1}, ErrBadEncoding, 0, false},
		{"txn missing ops", []byte{1, 5, 0, 2, 4, 1, 'a', 0}, ErrBadEncoding, 0, false},
		{"txn nested txn", []byte{1, 5, 0, 1, 5, 1, 4, 1, 'a', 0}, ErrBadEncoding, 0, false},
		{"txn noop inside", []byte{1, 5, 0, 1, 6}, ErrBadEncoding, 0, false},
		{"txn unknown sub-op", []byte{1, 5, 0, 1, 200}, ErrBadEncoding, 0, false},
		{"txn duplicate key", []byte{1, 5, 0, 2, 4, 1, 'a', 0, 3, 1, 'a', 0}, ErrBadEncoding, 0, false},
		{"unknown op", []byte{1, 200, 0}, ErrUnknownOp, 200, false},
		{"unknown op ignorable", []byte{1, 200, 1}, ErrUnknownOp, 200, true},
		{"unknown op with body", []byte{1, 200, 1, 9, 9, 9}, ErrUnknownOp, 200, true},
		{"op zero", []byte{1, 0, 0}, ErrUnknownOp, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode(%x) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if tc.wantErr == ErrBadEncoding && errors.Is(err, ErrUnknownOp) {
				t.Fatalf("malformed entry reported as unknown op: %v", err)
			}
			if tc.wantErr == ErrUnknownOp {
				if c.Op != tc.wantOp || c.Ignorable != tc.wantIgnorable {
					t.Fatalf("Decode = Op %d Ignorable %v, want Op %d Ignorable %v",
						c.Op, c.Ignorable, tc.wantOp, tc.wantIgnorable)
				}
			}
		})
	}
}

// TestDecodeTruncated checks that every proper prefix of every valid
// encoding is rejected: lengths are explicit, so a cut entry never decodes
// as a different, shorter command.
func TestDecodeTruncated(t *testing.T) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := mustEncode(t, tc.cmd)
			for n := range len(b) {
				if _, err := Decode(b[:n]); !errors.Is(err, ErrBadEncoding) {
					t.Fatalf("Decode of %d of %d bytes: error = %v, want ErrBadEncoding", n, len(b), err)
				}
			}
		})
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{OpCreate, "create"}, {OpUpdate, "update"}, {OpDelete, "delete"}, {OpPut, "put"},
		{OpTxn, "txn"}, {OpNoop, "noop"}, {0, "op(0)"}, {200, "op(200)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.op.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range roundTripCases() {
		b, err := Encode(&tc.cmd)
		if err != nil {
			f.Fatalf("%s: %v", tc.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 200, 1})
	f.Add([]byte{1, 5, 0, 1, 5})
	f.Add([]byte{1, 3, 0, 1, 'a', 0x80, 0x00}) // overlong varint
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Decode(in)
		if err != nil {
			if !errors.Is(err, ErrBadEncoding) && !errors.Is(err, ErrUnknownOp) {
				t.Fatalf("Decode error %v wraps neither ErrBadEncoding nor ErrUnknownOp", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode accepted a command Validate rejects: %v", err)
		}
		enc, err := Encode(&c)
		if err != nil {
			t.Fatalf("Encode(Decode(%x)): %v", in, err)
		}
		if len(enc) > len(in) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(in), len(enc))
		}
		c2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%x))): %v", in, err)
		}
		if !commandsEqual(c, c2) {
			t.Fatalf("round trip changed the command:\n got %+v\nwant %+v", c2, c)
		}
		if enc2 := mustEncode(t, c2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point: %x then %x", enc, enc2)
		}
	})
}
