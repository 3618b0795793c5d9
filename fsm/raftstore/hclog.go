package raftstore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger returns hashicorp/raft's hclog interface backed by slog:
// hclog writes JSON lines into slogWriter, which re-emits each one as a
// slog record at the matching level.
func newHCLogger(log *slog.Logger) hclog.Logger {
	level := hclog.Info
	if log.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "raft",
		Level:      level,
		Output:     &slogWriter{log: log},
		JSONFormat: true,
	})
}

type slogWriter struct{ log *slog.Logger }

var _ io.Writer = (*slogWriter)(nil)

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			w.log.Info(string(line))
			continue
		}
		lvl := slog.LevelInfo
		switch rec["@level"] {
		case "trace", "debug":
			lvl = slog.LevelDebug
		case "warn":
			lvl = slog.LevelWarn
		case "error":
			lvl = slog.LevelError
		}
		msg, _ := rec["@message"].(string)
		attrs := make([]any, 0, 2*len(rec))
		if m, ok := rec["@module"].(string); ok {
			attrs = append(attrs, "module", m)
		}
		for k, v := range rec {
			if len(k) > 0 && k[0] == '@' {
				continue
			}
			attrs = append(attrs, k, v)
		}
		w.log.Log(context.Background(), lvl, msg, attrs...)
	}
	return len(p), nil
}
