package gossip

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testKey is the shared key of the test clusters.
var testKey = KeyFromToken("test-token")

// recorder is a slog.Handler that keeps records so tests can wait for a
// log message instead of sleeping. Records logged after a test ends are
// kept, never printed, so late memberlist goroutines cannot fail a test.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	added chan struct{} // Coalescing signal, capacity 1.
}

func newRecorder() *recorder {
	return &recorder{mu: new(sync.Mutex), recs: new([]slog.Record), added: make(chan struct{}, 1)}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	*r.recs = append(*r.recs, rec.Clone())
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), *r.recs...)
}

func (r *recorder) has(msg string) bool {
	for _, rec := range r.records() {
		if rec.Message == msg {
			return true
		}
	}
	return false
}

// waitLog waits until msg has been logged.
func (r *recorder) waitLog(t *testing.T, msg string, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !r.has(msg) {
		select {
		case <-r.added:
		case <-deadline.C:
			t.Fatalf("no log %q within %v", msg, timeout)
		}
	}
}

type agentOpt func(*Config)

func withKey(k []byte) agentOpt          { return func(c *Config) { c.Key = k } }
func withBind(addr string) agentOpt      { return func(c *Config) { c.BindAddr = addr } }
func withRole(r Role) agentOpt           { return func(c *Config) { c.Meta.Role = r } }
func withLogger(l *slog.Logger) agentOpt { return func(c *Config) { c.Logger = l } }

// startAgent starts an agent on a free loopback port with fast timings and
// shuts it down when the test ends.
func startAgent(t *testing.T, name string, opts ...agentOpt) *Agent {
	t.Helper()
	cfg := Config{
		Name:     name,
		BindAddr: "127.0.0.1:0",
		Key:      testKey,
		Meta:     Meta{Role: RoleServer, Name: name, RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Expect: 3, Version: "test"},
		Logger:   slog.New(newRecorder()),
		Profile:  ProfileLocal,
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := Start(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	return a
}

// join joins a to seeds with a deadline and fails the test on error.
func join(t *testing.T, a *Agent, seeds ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Join(ctx, seeds); err != nil {
		t.Fatalf("join %s to %v: %v", a.name, seeds, err)
	}
}

// waitFor re-checks cond whenever one of agents reports a change, and at
// least every 50ms, until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, agents ...*Agent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, a := range agents {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-a.Changes():
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-changed:
		case <-tick.C:
		}
	}
}

// names returns the names of a's members.
func names(a *Agent) []string {
	var out []string
	for _, m := range a.Members() {
		out = append(out, m.Meta.Name)
	}
	return out
}

// lists reports whether a's member list contains name.
func lists(a *Agent, name string) bool {
	for _, m := range a.Members() {
		if m.Meta.Name == name {
			return true
		}
	}
	return false
}

// freePort returns a loopback port that was free for TCP and UDP a moment
// ago, for an agent that must start after its address is known.
func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	t.Fatal("no free port for TCP and UDP")
	return ""
}
