package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"

	"github.com/skiffhq/skiff/gossip"
)

// startGossip starts this worker's gossip agent and joins the seeds. The
// worker advertises itself with RoleWorker; the servers advertise their API
// addresses, which is how the worker finds them.
func startGossip(ctx context.Context, name, bind string, token string, accepted []string, seeds []string, log *slog.Logger) (*gossip.Agent, error) {
	var acceptKeys [][]byte
	for _, t := range accepted {
		acceptKeys = append(acceptKeys, gossip.KeyFromToken(t))
	}
	profile := gossip.ProfileLAN
	if host, _, _ := net.SplitHostPort(bind); isLoopback(host) {
		profile = gossip.ProfileLocal
	}
	a, err := gossip.Start(gossip.Config{
		Name:       name,
		BindAddr:   bind,
		Key:        gossip.KeyFromToken(token),
		AcceptKeys: acceptKeys,
		Meta:       gossip.Meta{Role: gossip.RoleWorker, Name: name},
		Logger:     log,
		Profile:    profile,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip_addr %s: %w", bind, err)
	}
	if err := a.Join(ctx, seeds); err != nil {
		a.Shutdown()
		return nil, err
	}
	return a, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// serverURLs returns the HTTPS URLs of the API servers gossip knows, sorted.
func serverURLs(a *gossip.Agent) []string {
	var out []string
	for _, m := range a.Servers() {
		if m.Meta.APIAddr != "" {
			out = append(out, "https://"+m.Meta.APIAddr)
		}
	}
	slices.Sort(out)
	return out
}

// errNoServers means gossip knows no API server yet.
var errNoServers = errors.New("no API server known through gossip yet")
