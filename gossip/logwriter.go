package gossip

import (
	"bytes"
	"context"
	"log/slog"
)

// logWriter adapts memberlist's *log.Logger output to slog. memberlist
// writes one line per message, shaped "[LEVEL] memberlist: text"; the
// level becomes the slog level and the prefixes are dropped.
type logWriter struct {
	log *slog.Logger
}

// Write logs one memberlist line. It never fails, so memberlist's logger
// never sees an error.
func (w logWriter) Write(p []byte) (int, error) {
	level, msg := parseLogLine(p)
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// parseLogLine splits a memberlist log line into a slog level and message.
// Lines without a recognised "[LEVEL]" prefix are logged at Info, whole.
func parseLogLine(p []byte) (slog.Level, string) {
	line := bytes.TrimRight(p, "\r\n")
	level := slog.LevelInfo
	if rest, ok := bytes.CutPrefix(line, []byte("[")); ok {
		if tag, text, ok := bytes.Cut(rest, []byte("]")); ok {
			if l, known := levelOf(string(tag)); known {
				level = l
				line = bytes.TrimLeft(text, " ")
			}
		}
	}
	line, _ = bytes.CutPrefix(line, []byte("memberlist: "))
	return level, string(line)
}

func levelOf(tag string) (slog.Level, bool) {
	switch tag {
	case "DEBUG", "TRACE":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERR", "ERROR":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}
