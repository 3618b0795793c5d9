package server

import (
	"context"
	"testing"
	"time"

	"github.com/skiffhq/skiff/gossip"
)

// TestGossipLiveness runs two real gossip agents on loopback: the
// observer (a server) sees the worker as alive while it is a member, as
// dead once it has left, and has no opinion about names gossip never saw
// or members that are not workers.
func TestGossipLiveness(t *testing.T) {
	key := gossip.KeyFromToken("0123456789abcdef-liveness")
	start := func(name string, role gossip.Role) *gossip.Agent {
		a, err := gossip.Start(gossip.Config{Name: name, BindAddr: "127.0.0.1:0", Key: key, Profile: gossip.ProfileLocal,
			Meta: gossip.Meta{Role: role, Name: name, APIAddr: "127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Shutdown() })
		return a
	}
	observer := start("s1", gossip.RoleServer)
	worker := start("w1", gossip.RoleWorker)
	other := start("s2", gossip.RoleServer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range []*gossip.Agent{worker, other} {
		if err := a.Join(ctx, []string{observer.Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	l := gossipLiveness{observer}
	wait := func(name string, alive, known bool) {
		t.Helper()
		for {
			a, k := l.Alive(name)
			if a == alive && k == known {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("Alive(%s) = %v, %v; want %v, %v", name, a, k, alive, known)
			case <-observer.Changes():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	wait("w1", true, true)
	wait("never-seen", false, false)
	wait("s2", false, false)
	if err := worker.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	wait("w1", false, true)
}
