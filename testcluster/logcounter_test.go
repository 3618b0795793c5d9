package testcluster_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// logCounter is a slog.Handler that counts records by message, so a test
// can wait for something to have been logged instead of sleeping. It
// remembers the attributes that loggers were given with With, so that it
// can also count by server: every server logs with a "server" attribute,
// and Raft's own messages pass through the same logger.
type logCounter struct {
	*logBook
	attrs []slog.Attr // from WithAttrs, such as the server's name
}

// logBook is the state every handler derived from one logCounter shares.
type logBook struct {
	mu     sync.Mutex
	counts map[logKey]int
	last   map[logKey]map[string]slog.Value // attributes of the latest record
}

// logKey names a message as logged by one server ("" for a logger without
// a server attribute).
type logKey struct{ server, msg string }

func newLogCounter() *logCounter {
	return &logCounter{logBook: &logBook{
		counts: map[logKey]int{},
		last:   map[logKey]map[string]slog.Value{},
	}}
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) WithGroup(string) slog.Handler            { return l }

func (l *logCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logCounter{logBook: l.logBook, attrs: append(slices.Clip(l.attrs), attrs...)}
}

func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	attrs := make(map[string]slog.Value, len(l.attrs)+r.NumAttrs())
	for _, a := range l.attrs {
		attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Resolve()
		return true
	})
	k := logKey{msg: r.Message}
	if v, ok := attrs["server"]; ok {
		k.server = v.String()
	}
	l.mu.Lock()
	l.counts[k]++
	l.last[k] = attrs
	l.mu.Unlock()
	return nil
}

// count returns how many records with msg any server logged.
func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.counts {
		if k.msg == msg {
			n += c
		}
	}
	return n
}

// countContaining returns how many records any server logged whose
// message contains sub, ignoring case.
func (l *logCounter) countContaining(sub string) int {
	sub = strings.ToLower(sub)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.counts {
		if strings.Contains(strings.ToLower(k.msg), sub) {
			n += c
		}
	}
	return n
}

// countFrom returns how many records with msg the named server logged.
func (l *logCounter) countFrom(server, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[logKey{server, msg}]
}

// lastAttr returns the attribute key of the latest record with msg that
// the named server logged.
func (l *logCounter) lastAttr(server, msg, key string) (slog.Value, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.last[logKey{server, msg}][key]
	return v, ok
}

// lastUint is lastAttr for an unsigned integer. Raft's numbers arrive as
// JSON numbers, so float values are accepted.
func (l *logCounter) lastUint(server, msg, key string) (uint64, bool) {
	v, ok := l.lastAttr(server, msg, key)
	if !ok {
		return 0, false
	}
	switch v.Kind() {
	case slog.KindUint64:
		return v.Uint64(), true
	case slog.KindInt64:
		return uint64(v.Int64()), v.Int64() >= 0
	case slog.KindFloat64:
		return uint64(v.Float64()), v.Float64() >= 0
	}
	return 0, false
}
