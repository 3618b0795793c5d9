package gossip

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

const converge = 20 * time.Second

func TestThreeAgentsJoinThroughOneSeed(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	b := startAgent(t, "b")
	c := startAgent(t, "c", withRole(RoleWorker))
	join(t, b, a.Addr())
	join(t, c, a.Addr())

	agents := []*Agent{a, b, c}
	want := []string{"a", "b", "c"}
	waitFor(t, converge, "all agents to see 3 members", func() bool {
		for _, x := range agents {
			if !slices.Equal(names(x), want) {
				return false
			}
		}
		return true
	}, agents...)

	for _, x := range agents {
		for _, m := range x.Members() {
			if !m.Alive {
				t.Errorf("%s sees %s not alive", x.name, m.Meta.Name)
			}
			wantRole := RoleServer
			if m.Meta.Name == "c" {
				wantRole = RoleWorker
			}
			wantMeta := Meta{Role: wantRole, Name: m.Meta.Name, RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Expect: 3, Version: "test"}
			if m.Meta != wantMeta {
				t.Errorf("%s sees meta %+v, want %+v", x.name, m.Meta, wantMeta)
			}
		}
		var servers []string
		for _, m := range x.Servers() {
			servers = append(servers, m.Meta.Name)
		}
		if !slices.Equal(servers, []string{"a", "b"}) {
			t.Errorf("%s servers = %v, want [a b]", x.name, servers)
		}
	}
	for _, m := range b.Members() {
		if m.Meta.Name == "a" && m.Addr != a.Addr() {
			t.Errorf("b sees a at %s, want %s", m.Addr, a.Addr())
		}
	}
}

func TestSetMetaPropagates(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	b := startAgent(t, "b")
	join(t, b, a.Addr())
	waitFor(t, converge, "a and b to see each other", func() bool {
		return lists(a, "b") && lists(b, "a")
	}, a, b)

	next := Meta{Role: RoleServer, RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:9", Expect: 3, HasState: true, Version: "test"}
	if err := a.SetMeta(next); err != nil {
		t.Fatalf("set meta: %v", err)
	}
	next.Name = "a"
	seen := func() bool {
		for _, m := range b.Members() {
			if m.Meta.Name == "a" {
				return m.Meta == next
			}
		}
		return false
	}
	// Wait on b's change notifications alone, to show they fire for updates.
	deadline := time.NewTimer(converge)
	defer deadline.Stop()
	for !seen() {
		select {
		case <-b.Changes():
		case <-deadline.C:
			t.Fatalf("b never saw a's new meta; b sees %+v", b.Members())
		}
	}
	if got := a.Members()[0].Meta; got != next {
		t.Fatalf("a sees its own meta %+v, want %+v", got, next)
	}
}

func TestSetMetaRejectsBadMeta(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	before := a.Members()
	tests := []struct {
		name string
		meta Meta
		want error
	}{
		{"too large", Meta{Role: RoleServer, Version: strings.Repeat("v", MetaMaxSize)}, ErrMetaTooLarge},
		{"bad role", Meta{Role: "boss"}, ErrInvalidMeta},
		{"other name", Meta{Role: RoleServer, Name: "z"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.SetMeta(tc.meta)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("set meta: got %v, want %v", err, tc.want)
			}
		})
	}
	if after := a.Members(); !slices.Equal(after, before) {
		t.Fatalf("members changed after rejected updates: %+v -> %+v", before, after)
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	b := startAgent(t, "b")
	join(t, b, a.Addr())
	intruder := startAgent(t, "intruder", withKey(KeyFromToken("other-token")))

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := intruder.Join(ctx, []string{a.Addr(), b.Addr()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("join with wrong key: got %v, want deadline exceeded", err)
	}
	waitFor(t, converge, "a and b to see each other", func() bool {
		return lists(a, "b") && lists(b, "a")
	}, a, b)
	for _, x := range []*Agent{a, b} {
		if lists(x, "intruder") {
			t.Errorf("%s lists the intruder: %v", x.name, names(x))
		}
	}
	if got := names(intruder); !slices.Equal(got, []string{"intruder"}) {
		t.Errorf("intruder learned members %v", got)
	}
}

// TestAcceptedKeysBridgeARotation starts agents in the states of a key
// rotation. Two agents talk when each accepts the key the other sends
// with; when only one side does, the other cannot read the replies and the
// join fails both ways round.
func TestAcceptedKeysBridgeARotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := KeyFromToken("old-token"), KeyFromToken("new-token")
	withAccept := func(keys ...[]byte) agentOpt { return func(c *Config) { c.AcceptKeys = keys } }
	tests := []struct {
		name       string
		seed, peer []agentOpt
		ok         bool
	}{
		{"old key accepting the new, new key accepting the old",
			[]agentOpt{withKey(oldKey), withAccept(newKey)}, []agentOpt{withKey(newKey), withAccept(oldKey)}, true},
		{"both on the old key, one accepting the new",
			[]agentOpt{withKey(oldKey)}, []agentOpt{withKey(oldKey), withAccept(newKey)}, true},
		{"new key alone against a member sending the old",
			[]agentOpt{withKey(oldKey), withAccept(newKey)}, []agentOpt{withKey(newKey)}, false},
		{"old key alone against a member sending the new",
			[]agentOpt{withKey(newKey), withAccept(oldKey)}, []agentOpt{withKey(oldKey)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := startAgent(t, "seed", tc.seed...)
			peer := startAgent(t, "peer", tc.peer...)
			if tc.ok {
				join(t, peer, seed.Addr())
				waitFor(t, converge, "seed and peer to see each other", func() bool {
					return lists(seed, "peer") && lists(peer, "seed")
				}, seed, peer)
				return
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			if err := peer.Join(ctx, []string{seed.Addr()}); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("join: got %v, want deadline exceeded", err)
			}
			if got := names(peer); !slices.Equal(got, []string{"peer"}) {
				t.Errorf("peer learned members %v", got)
			}
		})
	}
}

func TestFailedMemberIsReportedDead(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	b := startAgent(t, "b")
	c := startAgent(t, "c")
	join(t, b, a.Addr())
	join(t, c, a.Addr())
	waitFor(t, converge, "a and b to see c", func() bool {
		return lists(a, "c") && lists(b, "c")
	}, a, b)

	if err := c.Shutdown(); err != nil {
		t.Fatalf("shutdown c: %v", err)
	}
	waitFor(t, 45*time.Second, "a and b to drop c", func() bool {
		return !lists(a, "c") && !lists(b, "c")
	}, a, b)
	if got := names(a); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("a sees %v, want [a b]", got)
	}
}

func TestLeaveRemovesMember(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "a")
	b := startAgent(t, "b")
	join(t, b, a.Addr())
	waitFor(t, converge, "a to see b", func() bool { return lists(a, "b") }, a)

	if err := b.Leave(5 * time.Second); err != nil {
		t.Fatalf("leave: %v", err)
	}
	waitFor(t, 5*time.Second, "a to drop b", func() bool { return !lists(a, "b") }, a)
	if got := a.Departures(); !maps.Equal(got, map[string]int{"b": 1}) {
		t.Errorf("a counts departures %v, want b once", got)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := b.Leave(time.Second); !errors.Is(err, ErrShutdown) {
		t.Fatalf("leave after shutdown: got %v, want ErrShutdown", err)
	}
	if err := b.SetMeta(Meta{Role: RoleServer}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("set meta after shutdown: got %v, want ErrShutdown", err)
	}
}

func TestNameConflictFailsJoin(t *testing.T) {
	t.Parallel()
	a := startAgent(t, "dup")
	b := startAgent(t, "dup")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Join(ctx, []string{a.Addr()}); !errors.Is(err, ErrNameConflict) {
		t.Fatalf("join with taken name: got %v, want ErrNameConflict", err)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := Config{Name: "a", BindAddr: "127.0.0.1:0", Key: testKey, Meta: Meta{Role: RoleServer}, Profile: ProfileLocal}
	tests := []struct {
		name   string
		change func(*Config)
		want   error
	}{
		{"no name", func(c *Config) { c.Name = "" }, nil},
		{"short key", func(c *Config) { c.Key = testKey[:16] }, nil},
		{"no key", func(c *Config) { c.Key = nil }, nil},
		{"short accepted key", func(c *Config) { c.AcceptKeys = [][]byte{testKey, testKey[:31]} }, nil},
		{"bind without port", func(c *Config) { c.BindAddr = "127.0.0.1" }, nil},
		{"bind to hostname", func(c *Config) { c.BindAddr = "localhost:0" }, nil},
		{"bind port out of range", func(c *Config) { c.BindAddr = "127.0.0.1:70000" }, nil},
		{"meta names someone else", func(c *Config) { c.Meta.Name = "b" }, nil},
		{"meta without role", func(c *Config) { c.Meta.Role = "" }, ErrInvalidMeta},
		{"meta too large", func(c *Config) { c.Meta.Version = strings.Repeat("v", 600) }, ErrMetaTooLarge},
		{"unknown profile", func(c *Config) { c.Profile = 7 }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			a, err := Start(cfg)
			if err == nil {
				_ = a.Shutdown()
				t.Fatal("start succeeded, want error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("start: got %v, want %v", err, tc.want)
			}
		})
	}
}
