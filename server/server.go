package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/apiserver/podsecurity"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/internal/buildinfo"
	"github.com/skiffhq/skiff/internal/pki"
)

// Server is one running control-plane server.
type Server struct {
	cfg    config.Server
	log    *slog.Logger
	token  string
	node   *raftstore.Replica
	gossip *gossip.Agent
	ln     net.Listener
	http   *http.Server
	fwd    *forwarder
	authn  *auth.Authenticator
	// podSecurity judges pods against their namespace's Pod Security level.
	podSecurity *podsecurity.Checker
	tls         atomic.Pointer[tlsState]

	// membershipHint is set when a leader asks this server to check that
	// it is still a member; hinted (membership loop only) is when this
	// server, as leader, last asked each removed server.
	membershipHint atomic.Bool
	hinted         map[string]time.Time

	// sawSystemObjects is set once this server has seen the system
	// namespaces (in /readyz or its membership loop).
	sawSystemObjects atomic.Bool
	// extraLeader are leader components added by options (tests).
	extraLeader []LeaderComponent
	// noBuiltin leaves the built-in leader components out (tests).
	noBuiltin bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error

	closeOnce sync.Once
}

// Option adjusts how New builds a server.
type Option func(*options)

type options struct {
	raftDialer raftstore.Dialer
	leader     []LeaderComponent
	noBuiltin  bool
}

// WithLeaderComponent runs c on the leader beside the built-in components.
func WithLeaderComponent(c LeaderComponent) Option {
	return func(o *options) { o.leader = append(o.leader, c) }
}

// WithoutBuiltinLeaderComponents runs only the components added with
// WithLeaderComponent on the leader, not the scheduler, the controllers and
// node IPAM: API-level tests must see only their own writes (a controller
// would rewrite a status they set), and a test that runs a controller of
// its own, with its own timings, needs the built-in one out of its way.
func WithoutBuiltinLeaderComponents() Option {
	return func(o *options) { o.noBuiltin = true }
}

// WithRaftDialer makes Raft open its connections to other servers through
// d; testcluster uses it to cut links.
func WithRaftDialer(d raftstore.Dialer) Option {
	return func(o *options) { o.raftDialer = d }
}

// New binds the server's ports, opens its data directory and starts its
// background work: gossip join, bootstrap, leader reconciliation and the
// HTTP API. It returns once everything listens; the cluster may not have a
// leader yet.
func New(cfg config.Server, log *slog.Logger, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With("server", cfg.Name)
	if err := privateDataDir(cfg.DataDir, log); err != nil {
		return nil, err
	}
	token, err := clusterToken(cfg)
	if err != nil {
		return nil, err
	}
	if slices.Contains(cfg.AcceptedTokens, token) {
		// Validate catches a configured token; this is the generated one.
		return nil, fmt.Errorf("accepted_tokens holds the token of %s: list only the other tokens to accept", cfg.TokenPath())
	}
	podSecurity, err := podsecurity.New()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, token: token, podSecurity: podSecurity, failed: make(chan error, 1), extraLeader: o.leader, noBuiltin: o.noBuiltin}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			s.Kill()
		}
	}()

	s.ln, err = net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("api_addr %s: %w", cfg.APIAddr, err)
	}
	peerServer, peerClient, err := pki.PeerTLS(token, cfg.Name, time.Now(), cfg.AcceptedTokens...)
	if err != nil {
		return nil, err
	}
	s.fwd = newForwarder(s, peerClient.Certificates)
	rc := raftstoreConfig(cfg, log)
	rc.TLS = &raftstore.TLS{Server: peerServer, Client: peerClient}
	rc.Forwarder = s.fwd
	rc.Dialer = o.raftDialer
	s.node, err = raftstore.Open(rc)
	if err != nil {
		return nil, err
	}
	profile := gossip.ProfileLAN
	if host, _, _ := net.SplitHostPort(cfg.GossipAddr); isLoopback(host) {
		profile = gossip.ProfileLocal
	}
	s.gossip, err = gossip.Start(gossip.Config{
		Name:       cfg.Name,
		BindAddr:   cfg.GossipAddr,
		Key:        gossip.KeyFromToken(token),
		AcceptKeys: acceptKeys(cfg.AcceptedTokens),
		Meta:       s.meta(),
		Logger:     log,
		Profile:    profile,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip_addr %s: %w", cfg.GossipAddr, err)
	}
	s.authn = auth.NewAuthenticator(token, func(key string) ([]byte, bool) {
		kv, ok, _ := s.node.Store().Get(key)
		return kv.Value, ok
	}, cfg.AcceptedTokens...)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// Clients authenticate with bearer tokens; other servers also show
		// their peer certificate, which the internal routes demand.
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certificate,
			ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: peerClient.RootCAs},
	}
	s.wg.Add(5)
	go func() {
		defer s.wg.Done()
		if err := s.http.ServeTLS(s.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("serve api: %w", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		s.pkiLoop(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		if err := s.gossip.Join(s.ctx, cfg.Join); err != nil && s.ctx.Err() == nil {
			s.log.Warn("gossip join failed", "error", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.membershipLoop(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.leaderLoop(s.ctx)
	}()
	log.Info("server started", "api", s.APIAddr(), "raft", s.RaftAddr(), "gossip", s.GossipAddr(), "bootstrap_expect", cfg.BootstrapExpect, "version", buildinfo.Get().GitVersion,
		"token", auth.Fingerprint(token), "accepted_tokens", s.acceptedFingerprints())
	ok = true
	return s, nil
}

// raftstoreConfig maps a server's configuration to its Raft replica's.
func raftstoreConfig(cfg config.Server, log *slog.Logger) raftstore.Config {
	return raftstore.Config{
		ID:       raft.ServerID(cfg.Name),
		BindAddr: cfg.RaftAddr,
		DataDir:  cfg.DataDir,
		Logger:   log,
		Tuning:   raftstore.Tuning(cfg.Raft),
	}
}

// Recover makes the stopped server described by cfg the only voter of its
// cluster, after the others are lost for good (see raftstore.Recover for
// what survives). Started again, it leads a one-server cluster that new
// servers can join.
func Recover(cfg config.Server, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return raftstore.Recover(raftstoreConfig(cfg, log))
}

// clusterToken returns the configured token or, for a lone server without
// one, the token kept in <data_dir>/token, creating it on first start.
func clusterToken(cfg config.Server) (string, error) {
	if cfg.Token != "" {
		return cfg.Token, nil
	}
	path := filepath.Join(cfg.DataDir, config.TokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); len(t) >= config.MinTokenLen {
			return t, nil
		}
		return "", fmt.Errorf("token file %s holds no usable token (at least %d characters)", path, config.MinTokenLen)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read token file: %w", err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b[:])
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token file: %w", err)
	}
	return t, nil
}

// acceptKeys returns the gossip keys of the accepted tokens.
func acceptKeys(tokens []string) [][]byte {
	var keys [][]byte
	for _, t := range tokens {
		keys = append(keys, gossip.KeyFromToken(t))
	}
	return keys
}

// acceptedFingerprints returns the fingerprints of the accepted tokens, in
// their configured order.
func (s *Server) acceptedFingerprints() []string {
	var out []string
	for _, t := range s.cfg.AcceptedTokens {
		out = append(out, auth.Fingerprint(t))
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) meta() gossip.Meta {
	return gossip.Meta{
		Role:     gossip.RoleServer,
		Name:     s.cfg.Name,
		RaftAddr: string(s.node.Addr()),
		APIAddr:  s.APIAddr(),
		Expect:   s.cfg.BootstrapExpect,
		HasState: s.node.HasState(),
		Version:  buildinfo.Get().GitVersion,
	}
}

// Name returns the server's name, which is also its Raft ID.
func (s *Server) Name() string { return s.cfg.Name }

// APIAddr returns the address the HTTP API listens on.
func (s *Server) APIAddr() string { return s.ln.Addr().String() }

// RaftAddr returns the address the Raft transport listens on.
func (s *Server) RaftAddr() string { return string(s.node.Addr()) }

// GossipAddr returns the address memberlist listens on.
func (s *Server) GossipAddr() string { return s.gossip.Addr() }

// Token returns the cluster token this server uses (not the ones it only
// accepts).
func (s *Server) Token() string { return s.token }

// Gossip returns the server's gossip agent.
func (s *Server) Gossip() *gossip.Agent { return s.gossip }

// Replica returns the server's Raft replica.
func (s *Server) Replica() *raftstore.Replica { return s.node }

// Failed delivers at most one error if the server stops working on its own.
func (s *Server) Failed() <-chan error { return s.failed }

func (s *Server) fail(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// Close stops the server gracefully: a leader transfers leadership, the
// server leaves gossip, then stops serving and closes Raft.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.node != nil && s.node.IsLeader() {
			// Bounded: with the other servers stopping too, a transfer
			// can wait for a follower that never answers.
			done := make(chan error, 1)
			go func() { done <- s.node.TransferLeadership("") }()
			select {
			case terr := <-done:
				if terr != nil {
					s.log.Info("no leadership transfer on close", "error", terr)
				}
			case <-time.After(2 * time.Second):
				s.log.Info("leadership transfer on close timed out")
			}
		}
		if s.gossip != nil {
			s.gossip.Leave(2 * time.Second)
		}
		err = s.stop()
	})
	return err
}

// Kill stops the server abruptly, as a crash would: no leadership transfer,
// no gossip leave. What Raft has written to disk stays.
func (s *Server) Kill() {
	s.closeOnce.Do(func() { s.stop() })
}

func (s *Server) stop() error {
	s.cancel()
	var errs []error
	if s.http != nil {
		s.http.Close()
	} else if s.ln != nil {
		s.ln.Close()
	}
	if s.gossip != nil {
		errs = append(errs, s.gossip.Shutdown())
	}
	if s.node != nil {
		errs = append(errs, s.node.Close())
	}
	if s.fwd != nil {
		s.fwd.close()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}
