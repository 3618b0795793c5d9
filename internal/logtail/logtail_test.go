package logtail

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "c", 2: "b\nc", 5: "a\nb\nc"} {
		if got := Lines(p, n); got != want {
			t.Errorf("Lines(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Lines(filepath.Join(t.TempDir(), "missing"), 3); got == "" {
		t.Error("a missing file gave no error text")
	}
}
