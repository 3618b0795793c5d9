package gossip

import (
	"log"
	"log/slog"
	"testing"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantLevel slog.Level
		wantMsg   string
	}{
		{"debug", "[DEBUG] memberlist: Stream connection from=127.0.0.1:5000\n", slog.LevelDebug, "Stream connection from=127.0.0.1:5000"},
		{"info", "[INFO] memberlist: Marking n1 as failed\n", slog.LevelInfo, "Marking n1 as failed"},
		{"warn", "[WARN] memberlist: Refuting a suspect message\n", slog.LevelWarn, "Refuting a suspect message"},
		{"err", "[ERR] memberlist: Failed to receive\n", slog.LevelError, "Failed to receive"},
		{"error", "[ERROR] memberlist: Failed to send\n", slog.LevelError, "Failed to send"},
		{"no memberlist prefix", "[ERR] Failed to shutdown transport: boom\n", slog.LevelError, "Failed to shutdown transport: boom"},
		{"unknown level kept whole", "[LOUD] memberlist: hi\n", slog.LevelInfo, "[LOUD] memberlist: hi"},
		{"no level", "plain text\r\n", slog.LevelInfo, "plain text"},
		{"unclosed bracket", "[WARN memberlist: x", slog.LevelInfo, "[WARN memberlist: x"},
		{"empty", "", slog.LevelInfo, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			level, msg := parseLogLine([]byte(tc.line))
			if level != tc.wantLevel || msg != tc.wantMsg {
				t.Fatalf("parseLogLine(%q) = %v %q, want %v %q", tc.line, level, msg, tc.wantLevel, tc.wantMsg)
			}
		})
	}
}

func TestLogWriterThroughStdLogger(t *testing.T) {
	rec := newRecorder()
	l := log.New(logWriter{log: slog.New(rec)}, "", 0)
	l.Printf("[WARN] memberlist: Was able to connect to %s over TCP but UDP probes failed", "n2")
	got := rec.records()
	if len(got) != 1 {
		t.Fatalf("got %d records, want 1", len(got))
	}
	if want := "Was able to connect to n2 over TCP but UDP probes failed"; got[0].Message != want || got[0].Level != slog.LevelWarn {
		t.Fatalf("got %v %q, want WARN %q", got[0].Level, got[0].Message, want)
	}
}
