package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestPrivateDataDir(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before os.FileMode // 0: the directory does not exist yet
	}{
		{"created", 0},
		{"open to everyone", 0o755},
		{"open to the group", 0o750},
		{"already private", 0o700},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tt.before != 0 {
				if err := os.Mkdir(dir, tt.before); err != nil {
					t.Fatal(err)
				}
				os.Chmod(dir, tt.before) // past the umask
			}
			if err := privateDataDir(dir, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Fatalf("data dir mode %v, want 0700", got)
			}
		})
	}
}
