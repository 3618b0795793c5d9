package fsm

import (
	"errors"
	"testing"
)

func TestFencedCommandAppliesOnlyInItsTerm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cmdTerm   uint64
		entryTerm uint64
		want      Code
	}{
		{"unfenced in any term", 0, 9, CodeOK},
		{"fenced in its term", 4, 4, CodeOK},
		{"fenced in a later term", 4, 5, CodeFenced},
		{"fenced in an earlier term", 5, 4, CodeFenced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, Options{})
			c := putCmd("k", "v")
			c.Term = tc.cmdTerm
			r := s.Apply(1, tc.entryTerm, mustEncode(t, c))
			if r.Code != tc.want {
				t.Fatalf("code = %d, want %d (%v)", r.Code, tc.want, r.Err())
			}
			_, found, rev := s.Get("k")
			if found != (tc.want == CodeOK) {
				t.Fatalf("key written = %v, want %v", found, tc.want == CodeOK)
			}
			if rev != 1 {
				t.Fatalf("revision = %d, want 1: a refused entry still consumes its index", rev)
			}
			if tc.want == CodeFenced {
				if !errors.Is(r.Err(), ErrFenced) || r.Term != tc.entryTerm {
					t.Fatalf("Err = %v, Term = %d; want ErrFenced naming term %d", r.Err(), r.Term, tc.entryTerm)
				}
			}
		})
	}
}

func TestFencedTxnIsAllOrNothing(t *testing.T) {
	s := newTestStore(t, Options{})
	c := txnCmd(putCmd("a", "1"), putCmd("b", "2"))
	c.Term = 3
	if r := s.Apply(1, 4, mustEncode(t, c)); r.Code != CodeFenced {
		t.Fatalf("code = %d, want CodeFenced", r.Code)
	}
	if n := s.Count(""); n != 0 {
		t.Fatalf("a refused txn wrote %d keys", n)
	}
}

func TestTermOnlyOnTopLevelCommand(t *testing.T) {
	sub := putCmd("a", "1")
	sub.Term = 2
	c := txnCmd(sub)
	if _, err := Encode(&c); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("Encode of a txn whose op carries a term: err = %v, want ErrInvalidCommand", err)
	}
	// A fenced flag with term zero is malformed, not an unfenced command.
	if _, err := Decode([]byte{encodingVersion, byte(OpNoop), flagFenced, 0}); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("Decode of term 0: err = %v, want ErrBadEncoding", err)
	}
}
