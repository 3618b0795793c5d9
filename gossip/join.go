package gossip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

const (
	joinBackoffMin = 100 * time.Millisecond
	joinBackoffMax = 2 * time.Second
)

// Join contacts seeds until at least one join succeeds or ctx ends,
// doubling the pause between attempts up to two seconds. Seeds that are
// this agent's own address are skipped, so every server may share one seed
// list; a list left empty returns nil at once. A single attempt is not
// interrupted by ctx and may take up to the profile's TCP timeout per seed.
// If another member already uses this agent's name, Join returns
// ErrNameConflict without retrying.
func (a *Agent) Join(ctx context.Context, seeds []string) error {
	backoff := joinBackoffMin
	for {
		targets := a.withoutSelf(ctx, seeds)
		if len(targets) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("join gossip seeds %v: %w", targets, err)
		}
		a.mu.Lock()
		a.conflict = ""
		a.mu.Unlock()
		n, err := a.ml.Join(targets)
		if err == nil {
			a.mu.Lock()
			other := a.conflict
			a.mu.Unlock()
			if other != "" {
				return fmt.Errorf("join gossip: node at %s already uses name %q: %w", other, a.name, ErrNameConflict)
			}
			a.log.Info("joined gossip cluster", "seeds", targets, "contacted", n)
			return nil
		}
		a.log.Debug("gossip join attempt failed", "seeds", targets, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("join gossip seeds %v (last attempt: %s): %w", targets, oneLine(err), ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, joinBackoffMax)
	}
}

// withoutSelf returns seeds minus those that resolve to this agent.
func (a *Agent) withoutSelf(ctx context.Context, seeds []string) []string {
	var out []string
	for _, s := range seeds {
		if !a.isSelf(ctx, s) {
			out = append(out, s)
		}
	}
	return out
}

// isSelf reports whether seed names this agent: its advertised address, or
// a local address on its port when bound to all addresses. A seed that does
// not parse or resolve is not self; memberlist will report it.
func (a *Agent) isSelf(ctx context.Context, seed string) bool {
	if seed == a.addr {
		return true
	}
	host, port, err := net.SplitHostPort(seed)
	if err != nil {
		return false
	}
	_, ownPort, err := net.SplitHostPort(a.addr)
	if err != nil || !samePort(port, ownPort) {
		return false
	}
	ownHost, _, _ := net.SplitHostPort(a.addr)
	ownIP := net.ParseIP(ownHost)
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else if ips, err = net.DefaultResolver.LookupIP(ctx, "ip", host); err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Equal(ownIP) || ip.Equal(a.bindIP) {
			return true
		}
		if a.bindIP.IsUnspecified() && (ip.IsLoopback() || ip.IsUnspecified() || isLocalIP(ip)) {
			return true
		}
	}
	return false
}

// oneLine flattens memberlist's multi-line multierror text.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func samePort(x, y string) bool {
	px, errX := strconv.Atoi(x)
	py, errY := strconv.Atoi(y)
	return errX == nil && errY == nil && px == py
}

// isLocalIP reports whether ip belongs to one of this host's interfaces.
func isLocalIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, addr := range addrs {
		if n, ok := addr.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
