package testcluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
)

// Options configure a cluster. Zero values take defaults.
type Options struct {
	// Servers is the number of servers and their bootstrap_expect (3).
	Servers int
	// Raft overrides the servers' Raft settings field by field.
	Raft config.Raft
	// Logger receives every server's logs; by default they are discarded
	// unless SKIFF_TEST_LOG=1, which sends them to stderr.
	Logger *slog.Logger
	// ServerOptions are passed to every server.New (leader components,
	// for example).
	ServerOptions []server.Option
	// Controllers runs the built-in leader components (the scheduler, the
	// controllers, node IPAM) on the leader. Off by default, so that
	// API-level tests see only their own writes (a deployment controller
	// would rewrite the status they set), and tests of one component run
	// their own instance of it.
	Controllers bool
}

// Cluster is a set of in-process servers. Its methods may be called from
// the test goroutine and from goroutines it starts.
type Cluster struct {
	t     testing.TB
	opts  Options
	token string
	dir   string
	net   *faultNet

	mu      sync.Mutex
	members []*member
}

type member struct {
	cfg config.Server
	srv *server.Server // nil while down
}

// Start starts opts.Servers servers that find each other through gossip
// and bootstrap Raft, and returns once every server is ready (knows the
// leader and has caught up). It stops them when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Servers <= 0 {
		opts.Servers = 3
	}
	if opts.Logger == nil {
		if os.Getenv("SKIFF_TEST_LOG") == "1" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			opts.Logger = slog.New(slog.DiscardHandler)
		}
	}
	var tok [16]byte
	rand.Read(tok[:])
	c := &Cluster{t: t, opts: opts, token: hex.EncodeToString(tok[:]), dir: t.TempDir(), net: newFaultNet()}
	t.Cleanup(c.Close)
	for i := 0; i < opts.Servers; i++ {
		if _, err := c.addMember(opts.Servers); err != nil {
			t.Fatalf("start server %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cluster did not become ready: %v", err)
	}
	return c
}

func (c *Cluster) serverConfig(i, expect int) config.Server {
	cfg := config.DefaultServer()
	cfg.Name = fmt.Sprintf("s%d", i+1)
	cfg.DataDir = filepath.Join(c.dir, cfg.Name)
	cfg.APIAddr = "127.0.0.1:0"
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.GossipAddr = "127.0.0.1:0"
	cfg.BootstrapExpect = expect
	cfg.Token = c.token
	r, o := &cfg.Raft, c.opts.Raft
	setDur := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	setDur(&r.HeartbeatTimeout, o.HeartbeatTimeout)
	setDur(&r.ElectionTimeout, o.ElectionTimeout)
	setDur(&r.LeaderLeaseTimeout, o.LeaderLeaseTimeout)
	setDur(&r.CommitTimeout, o.CommitTimeout)
	setDur(&r.SnapshotInterval, o.SnapshotInterval)
	if o.SnapshotThreshold > 0 {
		r.SnapshotThreshold = o.SnapshotThreshold
	}
	if o.TrailingLogs > 0 {
		r.TrailingLogs = o.TrailingLogs
	}
	if o.WatchLogSize > 0 {
		r.WatchLogSize = o.WatchLogSize
	}
	return cfg
}

// addMember starts a new server that joins through the running servers'
// gossip addresses.
func (c *Cluster) addMember(expect int) (int, error) {
	c.mu.Lock()
	i := len(c.members)
	cfg := c.serverConfig(i, expect)
	cfg.Join = c.gossipAddrsLocked(-1)
	m := &member{cfg: cfg}
	c.members = append(c.members, m)
	c.mu.Unlock()
	return i, c.startMember(i)
}

func (c *Cluster) gossipAddrsLocked(except int) []string {
	var out []string
	for j, m := range c.members {
		if j != except && m.srv != nil {
			out = append(out, m.srv.GossipAddr())
		}
	}
	return out
}

func (c *Cluster) startMember(i int) error {
	c.mu.Lock()
	m := c.members[i]
	cfg := m.cfg
	if join := c.gossipAddrsLocked(i); len(join) > 0 {
		cfg.Join = join
	}
	c.mu.Unlock()
	opts := append([]server.Option{server.WithRaftDialer(c.net.dialer(i))}, c.opts.ServerOptions...)
	if !c.opts.Controllers {
		opts = append(opts, server.WithoutBuiltinLeaderComponents())
	}
	srv, err := server.New(cfg, c.opts.Logger, opts...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	m.srv = srv
	// Keep the ports: a restarted server comes back where its peers'
	// Raft configuration says it is.
	m.cfg.APIAddr, m.cfg.RaftAddr, m.cfg.GossipAddr = srv.APIAddr(), srv.RaftAddr(), srv.GossipAddr()
	c.mu.Unlock()
	return nil
}

// Config returns server i's configuration, with the addresses it listens
// on.
func (c *Cluster) Config(i int) config.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].cfg
}

// EditConfig changes server i's configuration with edit; the change takes
// effect when the server next starts (RestartServer), as editing a
// server's config file does. edit sees the addresses the server listens
// on; leaving them keeps the server where its peers look for it.
func (c *Cluster) EditConfig(i int, edit func(*config.Server)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	cfg := m.cfg
	cfg.Join = slices.Clone(cfg.Join)
	cfg.AcceptedTokens = slices.Clone(cfg.AcceptedTokens)
	edit(&cfg)
	m.cfg = cfg
}

// N returns the number of servers ever started, running or not.
func (c *Cluster) N() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// Server returns server i, or nil while it is down.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].srv
}

// Running returns the indexes of the servers that are up.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, m := range c.members {
		if m.srv != nil {
			out = append(out, i)
		}
	}
	return out
}

// Token returns the cluster token the servers were started with, which the
// operator API accepts until EditConfig rotates it away.
func (c *Cluster) Token() string { return c.token }

// AdminToken returns the admin token derived from Token, which every
// server's admin.kubeconfig holds until the token is rotated; the
// Kubernetes API and the operator API accept it.
func (c *Cluster) AdminToken() string { return auth.AdminToken(c.token) }

// URL returns server i's API base URL.
func (c *Cluster) URL(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "https://" + c.members[i].cfg.APIAddr
}

// CA returns the cluster CA certificate (PEM), known once a server has
// joined a cluster.
func (c *Cluster) CA() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.srv != nil {
			if ca := m.srv.CA(); ca != nil {
				return ca
			}
		}
	}
	return nil
}

// RestConfig returns a client-go configuration for server i as admin:
// HTTPS with the cluster CA and the admin token, no client-side rate
// limit.
func (c *Cluster) RestConfig(i int) *rest.Config {
	return &rest.Config{
		Host:            c.URL(i),
		BearerToken:     c.AdminToken(),
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CA()},
		QPS:             -1,
	}
}

// HTTPClient returns an HTTP client that trusts the cluster CA.
func (c *Cluster) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// Dir returns the cluster's data root; server i's data is Dir()/s<i+1>.
func (c *Cluster) Dir() string { return c.dir }

// Do sends a request as admin to server i's API and returns the status
// code and body.
func (c *Cluster) Do(ctx context.Context, i int, method, path string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL(i)+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminToken())
	client := c.HTTPClient()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// WaitFor polls cond every 10ms until it holds or ctx ends.
func WaitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// WaitFor polls cond every 10ms until it holds or ctx ends.
func (c *Cluster) WaitFor(ctx context.Context, cond func() bool) error { return WaitFor(ctx, cond) }

// Leader returns the index of the running server that is leader, once
// exactly one running server claims leadership and the others that know a
// leader agree; it waits until then or ctx ends.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	leader := -1
	err := WaitFor(ctx, func() bool {
		leader = -1
		for _, i := range c.Running() {
			s := c.Server(i)
			if s == nil {
				continue
			}
			if s.Replica().IsLeader() {
				if leader >= 0 {
					return false
				}
				leader = i
			}
		}
		return leader >= 0
	})
	return leader, err
}

// WaitReady waits until every running server is ready: it knows a leader,
// has applied what the leader had committed, serves TLS and has the system
// namespaces.
func (c *Cluster) WaitReady(ctx context.Context) error {
	for _, i := range c.Running() {
		s := c.Server(i)
		err := WaitFor(ctx, func() bool {
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return s.Replica().Linearize(rctx) == nil && s.CA() != nil && apiserver.SystemNamespacesExist(s.Replica().Store())
		})
		if err != nil {
			return fmt.Errorf("server %s: %w", s.Name(), err)
		}
	}
	return nil
}

// KillServer stops server i as kill -9 would: no leadership transfer, no
// gossip leave; its data directory stays.
func (c *Cluster) KillServer(i int) {
	c.mu.Lock()
	s := c.members[i].srv
	c.members[i].srv = nil
	c.mu.Unlock()
	if s != nil {
		s.Kill()
	}
}

// StopServer stops server i gracefully.
func (c *Cluster) StopServer(i int) error {
	c.mu.Lock()
	s := c.members[i].srv
	c.members[i].srv = nil
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}

// RestartServer starts server i again from its data directory on the same
// addresses.
func (c *Cluster) RestartServer(i int) error {
	if c.Server(i) != nil {
		return fmt.Errorf("server %d is running", i)
	}
	return c.startMember(i)
}

// AddServer starts one more server that joins the running cluster through
// gossip; the leader adds it as a voter.
func (c *Cluster) AddServer() (int, error) {
	return c.addMember(c.opts.Servers)
}

// Partition cuts every Raft link between the servers in isolated and all
// other servers, in both directions, and closes the connections open over
// them. Gossip and HTTP stay connected.
func (c *Cluster) Partition(isolated ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.members {
		for j, b := range c.members {
			if i == j || slices.Contains(isolated, i) == slices.Contains(isolated, j) {
				continue
			}
			c.net.setCut(link{i, raft.ServerAddress(b.cfg.RaftAddr)}, true)
			c.net.setCut(link{j, raft.ServerAddress(a.cfg.RaftAddr)}, true)
		}
	}
}

// Heal restores every cut link.
func (c *Cluster) Heal() { c.net.healAll() }

// Close kills every running server.
func (c *Cluster) Close() {
	for _, i := range c.Running() {
		c.KillServer(i)
	}
}
