package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/skiffhq/skiff/gossip"
)

// TestGossipAcceptedTokens joins a worker to a server agent in round 2 of
// a token rotation (the server sends the new token's key and accepts the
// old one's): a worker still on the old token joins only when it accepts
// the new token, and a worker already on the new one joins as well.
func TestGossipAcceptedTokens(t *testing.T) {
	const oldTok, newTok = "old-token-0123456789", "new-token-0123456789"
	srv, err := gossip.Start(gossip.Config{Name: "s1", BindAddr: "127.0.0.1:0", Key: gossip.KeyFromToken(newTok),
		AcceptKeys: [][]byte{gossip.KeyFromToken(oldTok)}, Meta: gossip.Meta{Role: gossip.RoleServer},
		Profile: gossip.ProfileLocal})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	tests := []struct {
		name     string
		token    string
		accepted []string
		joins    bool
	}{
		{"old token, accepts the new", oldTok, []string{newTok}, true},
		{"new token, accepts the old", newTok, []string{oldTok}, true},
		{"old token alone", oldTok, nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a, err := startGossip(ctx, "w"+string(rune('1'+i)), "127.0.0.1:0", tt.token, tt.accepted, []string{srv.Addr()}, slog.New(slog.DiscardHandler))
			if (err == nil) != tt.joins {
				t.Fatalf("join error %v, want joined=%v", err, tt.joins)
			}
			if a != nil {
				a.Shutdown()
			}
		})
	}
}
