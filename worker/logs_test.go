package worker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteLogs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	os.WriteFile(path+".1", []byte("2026-01-01T00:00:01Z stdout F old\n"), 0o600)
	os.WriteFile(path, []byte("2026-01-01T00:00:02Z stdout F one\n2026-01-01T00:00:03Z stderr P par\n2026-01-01T00:00:03Z stderr F tial\ngarbage line\n2026-01-01T00:00:04Z stdout F two\n2026-01-01T00:00:05Z stdout F hal"), 0o600)
	tests := []struct {
		name string
		opts LogOptions
		want string
	}{
		{"all", LogOptions{TailLines: -1}, "old\none\npartial\ntwo\n"},
		{"tail 2", LogOptions{TailLines: 2}, "tial\ntwo\n"},
		{"since", LogOptions{TailLines: -1, Since: time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)}, "partial\ntwo\n"},
		{"timestamps", LogOptions{TailLines: 1, Timestamps: true}, "2026-01-01T00:00:04Z two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeLogs(context.Background(), &b, path, tt.opts, func() bool { return false }); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestWriteLogsFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(path, []byte("2026-01-01T00:00:02Z stdout F one\n"), 0o600)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	running := make(chan bool, 1)
	running <- true
	var b bytes.Buffer
	done := make(chan error, 1)
	var stopped bool
	go func() {
		done <- writeLogs(context.Background(), &lockedBuffer{b: &b}, path, LogOptions{TailLines: -1, Follow: true}, func() bool {
			select {
			case v := <-running:
				stopped = !v
			default:
			}
			return !stopped
		})
	}()
	f.WriteString("2026-01-01T00:00:03Z stdout F two\n")
	running <- false
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b.String() != "one\ntwo\n" {
		t.Errorf("followed %q", b.String())
	}
}

type lockedBuffer struct{ b *bytes.Buffer }

func (l *lockedBuffer) Write(p []byte) (int, error) { return l.b.Write(p) }

func FuzzParseCRILine(f *testing.F) {
	f.Add([]byte("2026-01-01T00:00:02Z stdout F one"))
	f.Add([]byte("2026-01-01T00:00:02Z stderr P"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseCRILine(b)
		if err == nil && l.ts.IsZero() && !bytes.HasPrefix(b, []byte("0001")) {
			t.Fatalf("accepted %q with no time", b)
		}
	})
}
