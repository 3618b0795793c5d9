package gossip

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// KeySize is the length of a gossip key: AES-256.
const KeySize = 32

// updateTimeout bounds how long SetMeta waits for its broadcast to leave.
const updateTimeout = 5 * time.Second

// keyDomain separates the gossip key from anything else derived from the
// cluster token.
const keyDomain = "skiff gossip key v1\x00"

var (
	// ErrNameConflict is returned by Join when another member already uses
	// this agent's name.
	ErrNameConflict = errors.New("gossip name conflict")
	// ErrShutdown is returned by Leave and SetMeta after Shutdown.
	ErrShutdown = errors.New("gossip agent shut down")
)

// Profile selects memberlist's timing parameters.
type Profile int

const (
	// ProfileLAN uses memberlist's LAN defaults. It is the zero value.
	ProfileLAN Profile = iota
	// ProfileLocal uses memberlist's loopback defaults: faster failure
	// detection, for tests and single-host clusters.
	ProfileLocal
)

// Config configures an Agent.
type Config struct {
	// Name is this member's unique name in the cluster.
	Name string
	// BindAddr is an IP host:port; port 0 picks a free port, the same for
	// TCP and UDP. An empty host binds all IPv4 addresses.
	BindAddr string
	// Key is the 32-byte AES key that encrypts and authenticates all gossip
	// this agent sends.
	Key []byte
	// AcceptKeys are further 32-byte keys that incoming gossip may be
	// encrypted with; they are never used to send. They let members with
	// different Keys talk while the cluster rotates its key: each member
	// must accept every other member's Key.
	AcceptKeys [][]byte
	// Meta is advertised to the other members. An empty Meta.Name is set
	// to Name; any other value must equal it.
	Meta Meta
	// Logger receives the agent's and memberlist's logs. Nil discards them.
	Logger *slog.Logger
	// Profile selects timings; the zero value is ProfileLAN.
	Profile Profile
}

// KeyFromToken derives the gossip encryption key from the cluster token.
func KeyFromToken(token string) []byte {
	sum := sha256.Sum256([]byte(keyDomain + token))
	return sum[:]
}

// Agent is one member of the gossip cluster. Its methods are safe for
// concurrent use. The Agent owns memberlist's goroutines until Shutdown.
type Agent struct {
	log     *slog.Logger
	name    string
	bindIP  net.IP
	ml      *memberlist.Memberlist
	addr    string        // Advertised gossip address, fixed after Start.
	changes chan struct{} // Coalescing: capacity 1, sends never block.

	setMu sync.Mutex // Serializes SetMeta so broadcasts follow stores.

	mu       sync.Mutex
	metaRaw  []byte            // Encoded own meta, served to memberlist.
	members  map[string]Member // Live members with decodable meta, by name.
	gone     map[string]int    // Departures (left or declared dead) by name.
	conflict string            // Address of a node claiming our name, if seen.

	lifeMu sync.Mutex // Guards memberlist Leave against Shutdown.
	down   bool
	// stopped is closed by Shutdown; it ends a SetMeta that waits for a
	// broadcast a shut-down memberlist will never send.
	stopped chan struct{}
}

// Start binds the gossip listeners and starts a cluster of one. Call Join
// to contact other members.
func Start(cfg Config) (*Agent, error) {
	if cfg.Name == "" {
		return nil, errors.New("start gossip: name is required")
	}
	if len(cfg.Key) != KeySize {
		return nil, fmt.Errorf("start gossip: key is %d bytes, want %d", len(cfg.Key), KeySize)
	}
	host, port, err := parseBindAddr(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	if cfg.Meta.Name == "" {
		cfg.Meta.Name = cfg.Name
	}
	if cfg.Meta.Name != cfg.Name {
		return nil, fmt.Errorf("start gossip: meta name %q differs from name %q", cfg.Meta.Name, cfg.Name)
	}
	raw, err := encodeMeta(cfg.Meta)
	if err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	var conf *memberlist.Config
	switch cfg.Profile {
	case ProfileLAN:
		conf = memberlist.DefaultLANConfig()
	case ProfileLocal:
		conf = memberlist.DefaultLocalConfig()
	default:
		return nil, fmt.Errorf("start gossip: unknown profile %d", cfg.Profile)
	}
	var secondary [][]byte
	for i, k := range cfg.AcceptKeys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("start gossip: accepted key %d is %d bytes, want %d", i, len(k), KeySize)
		}
		secondary = append(secondary, bytes.Clone(k))
	}
	// memberlist encrypts with the primary key and tries every key of the
	// ring on what it receives.
	keyring, err := memberlist.NewKeyring(secondary, bytes.Clone(cfg.Key))
	if err != nil {
		return nil, fmt.Errorf("start gossip: keyring: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "gossip")

	a := &Agent{
		log:     logger,
		name:    cfg.Name,
		bindIP:  net.ParseIP(host),
		changes: make(chan struct{}, 1),
		stopped: make(chan struct{}),
		metaRaw: raw,
		members: make(map[string]Member),
		gone:    make(map[string]int),
	}
	d := &delegate{a: a}
	conf.Name = cfg.Name
	conf.BindAddr = host
	conf.BindPort = port
	conf.AdvertisePort = port
	conf.Keyring = keyring
	conf.GossipVerifyIncoming = true
	conf.GossipVerifyOutgoing = true
	conf.Delegate = d
	conf.Events = d
	conf.Conflict = d
	conf.Logger = log.New(logWriter{log: logger}, "", 0)

	ml, err := memberlist.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.BindAddr, err)
	}
	a.ml = ml
	// Create announced this node to itself, so its entry is in members.
	a.mu.Lock()
	a.addr = a.members[a.name].Addr
	a.mu.Unlock()
	logger.Info("gossip started", "name", a.name, "addr", a.addr)
	return a, nil
}

// parseBindAddr splits a bind address into an IP literal and a port.
func parseBindAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("bind address %q: %w", addr, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("bind address %q: host must be an IP address", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bind address %q: invalid port", addr)
	}
	return host, port, nil
}

// Addr returns the gossip address other members reach this agent at, as
// host:port. Seeds should use it.
func (a *Agent) Addr() string { return a.addr }

// Members returns the live members, including this agent, sorted by name.
// A member stays listed while merely suspected and is removed once
// memberlist declares it dead or it leaves.
func (a *Agent) Members() []Member {
	a.mu.Lock()
	out := make([]Member, 0, len(a.members))
	for _, m := range a.members {
		out = append(out, m)
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y Member) int { return strings.Compare(x.Meta.Name, y.Meta.Name) })
	return out
}

// Departures returns, by member name, how many times since Start this
// agent has seen a member leave or be declared dead. A member that
// restarts counts at most once (not at all if it is back before anyone
// notices); a count that grows for a member nobody stopped is membership
// flapping: the member was alive but this agent failed to hear from it (a
// network fault, or gossip it could not decrypt).
func (a *Agent) Departures() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.gone)
}

// Servers returns the live members whose role is RoleServer, sorted by name.
func (a *Agent) Servers() []Member {
	return slices.DeleteFunc(a.Members(), func(m Member) bool { return m.Meta.Role != RoleServer })
}

// SetMeta replaces this agent's advertised meta and broadcasts it. An empty
// m.Name is set to the agent's name. The new meta is in effect locally even
// when the broadcast times out; gossip then delivers it later.
func (a *Agent) SetMeta(m Meta) error {
	if m.Name == "" {
		m.Name = a.name
	}
	if m.Name != a.name {
		return fmt.Errorf("set gossip meta: name %q differs from agent name %q", m.Name, a.name)
	}
	raw, err := encodeMeta(m)
	if err != nil {
		return fmt.Errorf("set gossip meta: %w", err)
	}
	a.setMu.Lock()
	defer a.setMu.Unlock()
	a.lifeMu.Lock()
	down := a.down
	a.lifeMu.Unlock()
	if down {
		return fmt.Errorf("set gossip meta: %w", ErrShutdown)
	}
	a.mu.Lock()
	a.metaRaw = raw
	a.mu.Unlock()
	// memberlist's wait for the broadcast ignores its own shutdown, so a
	// SetMeta in flight when the agent shuts down would hold its caller
	// (and whoever waits for that caller to stop) for the whole timeout.
	// The waiting goroutine ends by itself within updateTimeout.
	done := make(chan error, 1)
	go func() { done <- a.ml.UpdateNode(updateTimeout) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("set gossip meta: %w", err)
		}
		return nil
	case <-a.stopped:
		return fmt.Errorf("set gossip meta: %w", ErrShutdown)
	}
}

// Changes returns a channel that receives a value after membership or any
// member's meta changes. Notifications coalesce: one value may stand for
// many changes, so a receiver should re-read Members. It is never closed.
func (a *Agent) Changes() <-chan struct{} { return a.changes }

// notify signals Changes without blocking.
func (a *Agent) notify() {
	select {
	case a.changes <- struct{}{}:
	default:
	}
}

// Leave tells the other members this agent is leaving, waiting up to
// timeout for the message to go out. The agent keeps running until
// Shutdown.
func (a *Agent) Leave(timeout time.Duration) error {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	if a.down {
		return fmt.Errorf("leave gossip: %w", ErrShutdown)
	}
	if err := a.ml.Leave(timeout); err != nil {
		return fmt.Errorf("leave gossip: %w", err)
	}
	return nil
}

// Shutdown stops the agent without telling the others; they detect the
// failure by probing. Call Leave first for a graceful exit. Shutdown may be
// called more than once.
func (a *Agent) Shutdown() error {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	if !a.down {
		close(a.stopped)
	}
	a.down = true
	if err := a.ml.Shutdown(); err != nil {
		return fmt.Errorf("shut down gossip: %w", err)
	}
	return nil
}
