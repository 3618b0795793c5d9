package testcluster_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/internal/pki"
	"github.com/skiffhq/skiff/testcluster"
)

// Bounds of the background writer: it stops after maxWrites writes, paces
// itself to one write per writePace so that it does not starve Raft's
// heartbeats on a small machine, and fails if one write does not succeed
// within writeDeadline of retries.
const (
	maxWrites     = 20000
	writePace     = 10 * time.Millisecond
	writeDeadline = 20 * time.Second
)

// writer keeps writing keys through whichever servers are running, one at
// a time, retrying each write on the errors a server stopping or a
// leadership change cause, until stopped. Every write it reports acked was
// applied; a write that fails otherwise, or not within writeDeadline, ends
// it with an error.
type writer struct {
	c      *testcluster.Cluster
	prefix string
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	acked   int
	retried map[string]int // retried errors by message, for the log
	err     error
}

func startWriter(ctx context.Context, c *testcluster.Cluster, prefix string) *writer {
	w := &writer{c: c, prefix: prefix, stop: make(chan struct{}), done: make(chan struct{}), retried: map[string]int{}}
	go w.run(ctx)
	return w
}

func (w *writer) key(n int) string { return fmt.Sprintf("%s%05d", w.prefix, n) }

func (w *writer) run(ctx context.Context) {
	defer close(w.done)
	pace := time.NewTicker(writePace)
	defer pace.Stop()
	for n := 0; n < maxWrites; n++ {
		select {
		case <-w.stop:
			return
		case <-pace.C:
		}
		if err := w.put(ctx, n); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		w.acked = n + 1
		w.mu.Unlock()
	}
}

// put writes key n, through a different running server on each attempt.
func (w *writer) put(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, writeDeadline)
	defer cancel()
	cmd := &fsm.Command{Op: fsm.OpPut, Key: w.key(n), Value: []byte(fmt.Sprint(n))}
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	var last error
	for attempt := 0; ; attempt++ {
		if running := w.c.Running(); len(running) > 0 {
			if s := w.c.Server(running[(n+attempt)%len(running)]); s != nil {
				_, err := propose(ctx, s.Replica(), cmd)
				if err == nil {
					return nil
				}
				if !retryableStoreError(err) {
					return fmt.Errorf("put %s through %s: %w", cmd.Key, s.Name(), err)
				}
				last = err
				w.mu.Lock()
				w.retried[err.Error()]++
				w.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("put %s: no success within %v (last error: %v): %w", cmd.Key, writeDeadline, last, ctx.Err())
		case <-retry.C:
		}
	}
}

// retryableStoreError reports whether a write failed because a server was
// stopping or leadership was moving, so that trying again is right. OpPut
// is idempotent, so an unknown outcome may be retried. A failure of peer
// TLS is never retried: forwarding wraps it as an unknown outcome, so its
// text is checked.
func retryableStoreError(err error) bool {
	if msg := err.Error(); strings.Contains(msg, "certificate") || strings.Contains(msg, "x509") {
		return false
	}
	return errors.Is(err, raftstore.ErrNotLeader) || errors.Is(err, raftstore.ErrNoLeader) ||
		errors.Is(err, raftstore.ErrUnknownOutcome) || errors.Is(err, raftstore.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}

// progress returns the number of acknowledged writes and the writer's
// error, if it has stopped on one.
func (w *writer) progress() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.err
}

// waitProgress waits until the writer has acknowledged n more writes than
// it had when called.
func (w *writer) waitProgress(ctx context.Context, n int) error {
	start, err := w.progress()
	if err != nil {
		return err
	}
	var werr error
	err = testcluster.WaitFor(ctx, func() bool {
		var acked int
		acked, werr = w.progress()
		return werr != nil || acked >= start+n
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		acked, _ := w.progress()
		return fmt.Errorf("writer acknowledged %d writes, want %d more than %d: %w", acked, n, start, err)
	}
	return nil
}

// finish stops the writer and returns how many writes it acknowledged.
func (w *writer) finish(t *testing.T) int {
	t.Helper()
	close(w.stop)
	<-w.done
	acked, err := w.progress()
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for msg, n := range w.retried {
		t.Logf("writer retried %d× after: %s", n, msg)
	}
	return acked
}

// gossipWatch checks that no server has had trouble with another's
// gossip. Every gossip agent counts departures by member
// (gossip.Agent.Departures), and a member may be seen gone at most once per
// stop since the agent started: anything more is membership flapping. And
// no server may have failed to decrypt gossip, which memberlist logs: a
// member that cannot read another's messages may still see it alive
// through a third one, so flapping alone would not show every key
// mismatch.
type gossipWatch struct {
	c    *testcluster.Cluster
	logs *logCounter // the cluster's logs
	// base is each server's departure counts when its agent started (or
	// when watching began); allowed is, per server, how many times each
	// member has been stopped since then.
	base, allowed map[int]map[string]int
}

// decryptFailures counts memberlist's logs of gossip it could not decrypt.
func (g *gossipWatch) decryptFailures() int { return g.logs.countContaining("decrypt") }

func newGossipWatch(c *testcluster.Cluster, logs *logCounter) *gossipWatch {
	g := &gossipWatch{c: c, logs: logs, base: map[int]map[string]int{}, allowed: map[int]map[string]int{}}
	for _, i := range c.Running() {
		g.base[i] = c.Server(i).Gossip().Departures()
		g.allowed[i] = map[string]int{}
	}
	return g
}

// stopping records that server i is about to stop.
func (g *gossipWatch) stopping(i int) {
	name := g.c.Config(i).Name
	for j := range g.allowed {
		if j != i {
			g.allowed[j][name]++
		}
	}
}

// started records that server i runs again with a new gossip agent, which
// counts departures from zero.
func (g *gossipWatch) started(i int) {
	g.base[i] = map[string]int{}
	g.allowed[i] = map[string]int{}
}

// check returns an error naming a running server that saw a member leave
// or fail more often than that member was stopped, or counting the
// servers' failures to decrypt gossip.
func (g *gossipWatch) check() error {
	if n := g.decryptFailures(); n > 0 {
		return fmt.Errorf("servers failed %d times to decrypt gossip", n)
	}
	for _, j := range g.c.Running() {
		s := g.c.Server(j)
		if s == nil {
			continue
		}
		for name, n := range s.Gossip().Departures() {
			if seen := n - g.base[j][name]; seen > g.allowed[j][name] {
				return fmt.Errorf("server %s saw %s leave or fail %d times while it was stopped %d times: membership flapped",
					s.Name(), name, seen, g.allowed[j][name])
			}
		}
	}
	return nil
}

// gossipConverged reports whether every running server sees exactly the
// servers in names as alive in gossip.
func gossipConverged(c *testcluster.Cluster, names []string) bool {
	for _, i := range c.Running() {
		s := c.Server(i)
		if s == nil {
			return false
		}
		var seen []string
		for _, m := range s.Gossip().Servers() {
			seen = append(seen, m.Meta.Name)
		}
		if !slices.Equal(seen, names) {
			return false
		}
	}
	return true
}

// tlsStream is a Raft stream layer that dials with a TLS configuration.
type tlsStream struct {
	net.Listener
	cfg *tls.Config
}

func (s tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.cfg)
}

// raftProbe speaks Raft to the server at addr over peer TLS built from
// token, as a process holding only that token would. It sends an
// AppendEntries for term 0, which a server rejects as stale without
// changing anything, and returns the term the server answered with.
func raftProbe(token, addr string) (uint64, error) {
	_, client, err := pki.PeerTLS(token, "prober", time.Now())
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	trans := raft.NewNetworkTransport(tlsStream{Listener: ln, cfg: client}, 1, 2*time.Second, io.Discard)
	defer trans.Close()
	var resp raft.AppendEntriesResponse
	req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("prober"), Addr: []byte(ln.Addr().String()),
	}}
	if err := trans.AppendEntries("target", raft.ServerAddress(addr), req, &resp); err != nil {
		return 0, err
	}
	if resp.Success {
		return resp.Term, errors.New("a term-0 append was accepted")
	}
	return resp.Term, nil
}
