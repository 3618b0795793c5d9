package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lookupFunc resolves a host name; it is net.Resolver.LookupHost in
// production and a fake in tests.
type lookupFunc func(ctx context.Context, host string) ([]string, error)

// resolveTimeout bounds the name lookups of Validate.
const resolveTimeout = 5 * time.Second

// Validate reports every problem of s, joined, each naming its key. Listen
// addresses must be host:port with a numeric port (0 picks a free one) and a
// host that is empty, an IP, or a name that resolves; join addresses are only
// checked for syntax because seeds may not resolve before they start.
func (s Server) Validate() error {
	return s.validate(net.DefaultResolver.LookupHost)
}

func (s Server) validate(lookup lookupFunc) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	switch {
	case s.Name == "":
		add("name is required")
	case !validName(s.Name):
		add("name %q: use 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit", s.Name)
	}
	if s.DataDir == "" {
		add("data_dir is required")
	}

	listeners := []struct{ key, addr string }{
		{"api_addr", s.APIAddr}, {"raft_addr", s.RaftAddr}, {"gossip_addr", s.GossipAddr},
	}
	var parsed []listenAddr
	for _, l := range listeners {
		a, err := parseListenAddr(l.key, l.addr, lookup)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, earlier := range parsed {
			if a.clashes(earlier) {
				add("%s %s clashes with %s", a.key, a.addr, earlier.key)
			}
		}
		parsed = append(parsed, a)
	}

	if s.BootstrapExpect < 1 {
		add("bootstrap_expect must be at least 1, got %d", s.BootstrapExpect)
	}
	for i, j := range s.Join {
		if err := checkSeed(j); err != nil {
			add("join[%d] %q: %w", i, j, err)
		}
	}
	switch {
	case s.Token == "" && (s.BootstrapExpect > 1 || len(s.Join) > 0):
		add("token is required when bootstrap_expect > 1 or join is set")
	case s.Token != "" && len(s.Token) < MinTokenLen:
		add("token must be at least %d characters, got %d", MinTokenLen, len(s.Token))
	}
	errs = append(errs, validateAcceptedTokens(s.Token, s.AcceptedTokens)...)
	switch strings.ToLower(s.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		add("log_level %q: use debug, info, warn or error", s.LogLevel)
	}
	errs = append(errs, s.Raft.validate()...)
	errs = append(errs, s.Network.validate()...)
	return errors.Join(errs...)
}

// validateAcceptedTokens checks accepted_tokens: each as long as a token
// must be, none the same as token or as an earlier entry (a repeat is a
// sign of a rotation step done wrong, such as switching token without
// keeping the old one). Messages name entries by index and never echo a
// token.
func validateAcceptedTokens(token string, accepted []string) []error {
	var errs []error
	for i, t := range accepted {
		switch {
		case len(t) < MinTokenLen:
			errs = append(errs, fmt.Errorf("accepted_tokens[%d] must be at least %d characters, got %d", i, MinTokenLen, len(t)))
		case t == token:
			errs = append(errs, fmt.Errorf("accepted_tokens[%d] is the same as token: list only the other tokens to accept", i))
		default:
			if j := slices.Index(accepted[:i], t); j >= 0 {
				errs = append(errs, fmt.Errorf("accepted_tokens[%d] repeats accepted_tokens[%d]", i, j))
			}
		}
	}
	return errs
}

// validate checks the Raft settings against the limits hashicorp/raft's
// ValidateConfig enforces, so that a bad value is reported with its key
// before Raft starts.
func (r Raft) validate() []error {
	var errs []error
	minimums := []struct {
		key string
		d   time.Duration
		min time.Duration
	}{
		{"raft.heartbeat_timeout", r.HeartbeatTimeout, 5 * time.Millisecond},
		{"raft.election_timeout", r.ElectionTimeout, 5 * time.Millisecond},
		{"raft.leader_lease_timeout", r.LeaderLeaseTimeout, 5 * time.Millisecond},
		{"raft.commit_timeout", r.CommitTimeout, time.Millisecond},
		{"raft.snapshot_interval", r.SnapshotInterval, 5 * time.Millisecond},
	}
	ok := true
	for _, m := range minimums {
		switch {
		case m.d <= 0:
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", m.key, m.d))
			ok = false
		case m.d < m.min:
			errs = append(errs, fmt.Errorf("%s must be at least %s, got %s", m.key, m.min, m.d))
			ok = false
		}
	}
	if ok && r.LeaderLeaseTimeout > r.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("raft.leader_lease_timeout %s must not exceed raft.heartbeat_timeout %s",
			r.LeaderLeaseTimeout, r.HeartbeatTimeout))
	}
	if ok && r.ElectionTimeout < r.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("raft.election_timeout %s must be at least raft.heartbeat_timeout %s",
			r.ElectionTimeout, r.HeartbeatTimeout))
	}
	if r.SnapshotThreshold == 0 {
		errs = append(errs, errors.New("raft.snapshot_threshold must be at least 1"))
	}
	if r.WatchLogSize < 1 {
		errs = append(errs, fmt.Errorf("raft.watch_log_size must be at least 1, got %d", r.WatchLogSize))
	}
	return errs
}

// listenAddr is a parsed listen address.
type listenAddr struct {
	key, addr string
	host      string
	ip        netip.Addr // valid when host is a literal IP
	port      uint16
}

// unspecified reports whether the address listens on all interfaces.
func (a listenAddr) unspecified() bool {
	return a.host == "" || (a.ip.IsValid() && a.ip.IsUnspecified())
}

// clashes reports whether a and b would bind the same port: the same
// host and port, or the same port with either on all interfaces. Port 0 asks
// the kernel for a free port and never clashes.
func (a listenAddr) clashes(b listenAddr) bool {
	if a.port == 0 || a.port != b.port {
		return false
	}
	if a.unspecified() || b.unspecified() {
		return true
	}
	if a.ip.IsValid() && b.ip.IsValid() {
		return a.ip.Unmap() == b.ip.Unmap()
	}
	return strings.EqualFold(a.host, b.host)
}

func parseListenAddr(key, addr string, lookup lookupFunc) (listenAddr, error) {
	if addr == "" {
		return listenAddr{}, fmt.Errorf("%s is required", key)
	}
	host, port, err := splitHostPort(addr)
	if err != nil {
		return listenAddr{}, fmt.Errorf("%s %q: %w", key, addr, err)
	}
	a := listenAddr{key: key, addr: addr, host: host, port: port}
	if host == "" {
		return a, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		a.ip = ip
		return a, nil
	}
	if !validHostname(host) {
		return listenAddr{}, fmt.Errorf("%s %q: host %q is neither an IP address nor a host name", key, addr, host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	if _, err := lookup(ctx, host); err != nil {
		return listenAddr{}, fmt.Errorf("%s %q: cannot resolve host %q: %w", key, addr, host, err)
	}
	return a, nil
}

// checkSeed checks a gossip seed address: a host (IP or name) and a port
// other than 0.
func checkSeed(addr string) error {
	host, port, err := splitHostPort(addr)
	if err != nil {
		return err
	}
	if port == 0 {
		return errors.New("port 0 cannot be dialled")
	}
	if host == "" {
		return errors.New("missing host")
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// splitHostPort splits host:port and parses the port as a decimal number.
func splitHostPort(addr string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", 0, errors.New(ae.Err)
		}
		return "", 0, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return host, uint16(p), nil
}

// validHostname checks RFC 1123 syntax: dot-separated labels of letters,
// digits and '-', none starting or ending with '-'.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// validName checks a server name, which becomes the Raft server ID, the
// gossip node name and a directory name.
func validName(n string) bool {
	if n == "" || len(n) > 253 || !isAlnum(rune(n[0])) {
		return false
	}
	for _, c := range n {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
