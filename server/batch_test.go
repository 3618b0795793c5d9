package server

import (
	"bytes"
	"strings"
	"testing"
)

func TestBatchEncoding(t *testing.T) {
	cmds := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("x"), 300)}
	got, err := decodeBatch(encodeBatch(cmds))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cmds) {
		t.Fatalf("decoded %d commands, want %d", len(got), len(cmds))
	}
	for i := range cmds {
		if !bytes.Equal(got[i], cmds[i]) {
			t.Fatalf("command %d: %q, want %q", i, got[i], cmds[i])
		}
	}
	bad := []struct {
		name, want string
		body       []byte
	}{
		{"empty", "empty batch", nil},
		{"length past the end", "bad length", []byte{5, 'a'}},
		{"truncated varint", "bad length", []byte{0x80}},
		{"too many", "more than", encodeBatch(make([][]byte, maxBatchCmds+1))},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeBatch(tt.body); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decodeBatch: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// FuzzDecodeBatch checks that no body makes the leader's batch parser
// panic, and that what it accepts encodes back to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([][]byte{[]byte("cmd"), []byte("other")}))
	f.Add([]byte{0x80, 0x80})
	f.Add([]byte{3, 'a'})
	f.Fuzz(func(t *testing.T, body []byte) {
		cmds, err := decodeBatch(body)
		if err != nil {
			return
		}
		if again := encodeBatch(cmds); !bytes.Equal(again, body) {
			// Non-minimal varints decode too; they must still split the
			// same commands.
			back, err := decodeBatch(again)
			if err != nil || len(back) != len(cmds) {
				t.Fatalf("re-encoding %x gave %x (%v)", body, again, err)
			}
		}
	})
}
