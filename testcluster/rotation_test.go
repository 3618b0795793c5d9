package testcluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// rotationPhase is one round of rolling restarts of a token rotation: every
// server restarts, one after the other, using token use and accepting the
// tokens in accept.
type rotationPhase struct {
	name   string
	use    string
	accept []string
	// oldOK and newOK say whether the old and the new cluster token, and
	// the admin tokens derived from them, are accepted once every server
	// has gone through the phase.
	oldOK, newOK bool
}

// TestTokenRotation rotates the cluster token of a three-server cluster as
// docs/operations.md describes: three rounds of rolling restarts (accept
// the new token, use it, drop the old one) while a writer keeps writing.
// After every restart the cluster has a leader, every server takes writes,
// gossip shows all three servers alive, and no server has ever seen a
// server other than a stopped one leave or fail. Afterwards a process with
// only the old token can neither gossip nor speak Raft nor use the API,
// and one with the new token can.
func TestTokenRotation(t *testing.T) {
	logs := newLogCounter()
	c := testcluster.Start(t, testcluster.Options{Logger: slog.New(logs)})
	ctx := testContext(t, 4*time.Minute)
	oldToken := c.Token()
	var b [16]byte
	rand.Read(b[:])
	newToken := "rotated-" + hex.EncodeToString(b[:])
	phases := []rotationPhase{
		{name: "accept the new token", use: oldToken, accept: []string{newToken}, oldOK: true, newOK: true},
		{name: "use the new token", use: newToken, accept: []string{oldToken}, oldOK: true, newOK: true},
		{name: "drop the old token", use: newToken, oldOK: false, newOK: true},
	}

	flaps := newGossipWatch(c, logs)
	w := startWriter(ctx, c, "/registry/configmaps/rotation/w-")
	for _, ph := range phases {
		ok := t.Run(ph.name, func(t *testing.T) {
			for i := 0; i < c.N(); i++ {
				rollServer(t, ctx, c, w, flaps, i, func(cfg *config.Server) {
					cfg.Token, cfg.AcceptedTokens = ph.use, ph.accept
				})
			}
			checkPhase(t, ctx, c, ph, oldToken, newToken)
		})
		if !ok {
			t.FailNow()
		}
	}
	// A server that cannot hear another is declared dead only after
	// memberlist's suspicion timeout (3 s and more at loopback timings),
	// longer than a phase takes: keep watching for a while.
	requireStays(t, ctx, suspicionWindow, flaps.check)
	acked := w.finish(t)
	requireConverged(t, ctx, c)
	for _, i := range c.Running() {
		st := node(t, c, i).Store()
		if got := st.Count(w.prefix); got != acked {
			t.Errorf("server %d holds %d of the writer's keys, want the %d acknowledged", i, got, acked)
		}
		for n := 0; n < acked; n++ {
			if kv, ok, _ := st.Get(w.key(n)); !ok || string(kv.Value) != strconv.Itoa(n) {
				t.Fatalf("server %d: %s = %q (present %v), want %d", i, w.key(n), kv.Value, ok, n)
			}
		}
	}
	t.Logf("writer: %d writes acknowledged through 9 restarts", acked)

	if err := flaps.check(); err != nil {
		t.Fatal(err)
	}
	// From here on the servers log the old token holder's gossip, which
	// they cannot decrypt.
	t.Run("old token is locked out", func(t *testing.T) {
		requireLockedOut(t, ctx, c, oldToken)
		// Which also shows that the decryption check above sees failures.
		if flaps.decryptFailures() == 0 {
			t.Error("no server logged gossip it could not decrypt from the old token's agent")
		}
	})
	t.Run("new token works", func(t *testing.T) {
		requireLetIn(t, ctx, c, newToken)
	})
}

// suspicionWindow spans memberlist's suspicion timeout at loopback timings
// for three members with one confirmation (3 s), and a probe round more.
const suspicionWindow = 5 * time.Second

// stepTimeout bounds each wait of one rolling restart, far above what a
// restart takes (about a second), so that a rotation that breaks the
// cluster fails at the step that broke it.
const stepTimeout = 45 * time.Second

// rollServer restarts server i with its configuration changed by edit, and
// checks the cluster while i is down and once it is back.
func rollServer(t *testing.T, ctx context.Context, c *testcluster.Cluster, w *writer, flaps *gossipWatch, i int, edit func(*config.Server)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := flaps.check(); err != nil {
		t.Fatal(err)
	}
	flaps.stopping(i)
	if err := c.StopServer(i); err != nil {
		t.Fatalf("stop server %d: %v", i, err)
	}
	up := others(c.N(), i)
	if _, err := leaderAmong(ctx, c, up...); err != nil {
		t.Fatalf("no leader among %v while server %d is down: %v", up, i, err)
	}
	if err := w.waitProgress(ctx, 5); err != nil {
		t.Fatalf("writes while server %d is down: %v", i, err)
	}
	if err := flaps.check(); err != nil {
		t.Fatal(err)
	}

	c.EditConfig(i, edit)
	if err := c.RestartServer(i); err != nil {
		t.Fatalf("restart server %d: %v", i, err)
	}
	flaps.started(i)
	names := []string{"s1", "s2", "s3"}
	var flapped error
	err := testcluster.WaitFor(ctx, func() bool {
		flapped = flaps.check()
		return flapped != nil || gossipConverged(c, names)
	})
	if flapped != nil {
		t.Fatal(flapped)
	}
	if err != nil {
		t.Fatalf("gossip did not show %v alive everywhere after restarting server %d: %v", names, i, err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cluster not ready after restarting server %d: %v", i, err)
	}
	if _, err := c.Leader(ctx); err != nil {
		t.Fatalf("no leader after restarting server %d: %v", i, err)
	}
	// Through every server: the followers forward to the leader over peer
	// TLS with their cluster token.
	for j := 0; j < c.N(); j++ {
		mustPut(t, ctx, node(t, c, j), "/registry/configmaps/rotation/direct", c.Config(i).Name)
	}
	if err := w.waitProgress(ctx, 5); err != nil {
		t.Fatalf("writes after restarting server %d: %v", i, err)
	}
	if err := flaps.check(); err != nil {
		t.Fatal(err)
	}
}

// checkPhase checks, once every server has gone through ph, which cluster
// and admin tokens every server accepts, that each one reports the token
// fingerprints of ph, and that each admin.kubeconfig holds the admin token
// of the token in use.
func checkPhase(t *testing.T, ctx context.Context, c *testcluster.Cluster, ph rotationPhase, oldToken, newToken string) {
	t.Helper()
	for i := 0; i < c.N(); i++ {
		for _, tc := range []struct {
			token string
			ok    bool
		}{{auth.AdminToken(oldToken), ph.oldOK}, {auth.AdminToken(newToken), ph.newOK}} {
			code, body := send(t, ctx, c, "GET", c.URL(i)+"/api/v1/namespaces", tc.token, nil)
			if want := statusFor(tc.ok); code != want {
				t.Errorf("%s: server %d answers an admin token with %d %s, want %d", ph.name, i, code, body, want)
			}
		}
		kubeconfig, err := os.ReadFile(filepath.Join(c.Config(i).DataDir, server.AdminKubeconfig))
		if err != nil || !strings.Contains(string(kubeconfig), auth.AdminToken(ph.use)) {
			t.Errorf("%s: server %d's admin.kubeconfig lacks the admin token of the token in use (%v)", ph.name, i, err)
		}
	}

	var wantAccepted []string
	for _, a := range ph.accept {
		wantAccepted = append(wantAccepted, auth.Fingerprint(a))
	}
	for _, tc := range []struct {
		token string
		ok    bool
	}{{oldToken, ph.oldOK}, {newToken, ph.newOK}} {
		code, body := send(t, ctx, c, "GET", c.URL(0)+"/skiff/v1/operator/raft", tc.token, nil)
		if want := statusFor(tc.ok); code != want {
			t.Fatalf("%s: operator API answers a cluster token with %d %s, want %d", ph.name, code, body, want)
		}
		if !tc.ok {
			continue
		}
		var list server.RaftServers
		if err := json.Unmarshal(body, &list); err != nil || len(list.Servers) != 3 {
			t.Fatalf("%s: operator raft list %s: %v", ph.name, body, err)
		}
		for _, s := range list.Servers {
			if !s.Reachable || s.TokenFingerprint != auth.Fingerprint(ph.use) || !slices.Equal(s.AcceptedFingerprints, wantAccepted) {
				t.Errorf("%s: server %s reports token %q accepting %v (reachable %v), want %q accepting %v",
					ph.name, s.ID, s.TokenFingerprint, s.AcceptedFingerprints, s.Reachable, auth.Fingerprint(ph.use), wantAccepted)
			}
		}
	}
}

// requireLockedOut checks that a process holding only token can neither
// join gossip nor see its members, speak Raft to any server, use token's
// admin token, nor register a node with it.
func requireLockedOut(t *testing.T, ctx context.Context, c *testcluster.Cluster, token string) {
	a := startGossip(t, "old-token-holder", token)
	jctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.Join(jctx, gossipSeeds(c)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("gossip join with the old token: got %v, want no success until the deadline", err)
	}
	if got := gossipNames(a); !slices.Equal(got, []string{"old-token-holder"}) {
		t.Errorf("the old token's gossip agent sees members %v", got)
	}
	for _, i := range c.Running() {
		s := c.Server(i)
		if names := gossipNames(s.Gossip()); slices.Contains(names, "old-token-holder") {
			t.Errorf("server %s lists the old token's agent: %v", s.Name(), names)
		}
		if term, err := raftProbe(token, s.RaftAddr()); err == nil {
			t.Errorf("server %s answered Raft over the old token's peer TLS (term %d)", s.Name(), term)
		}
		_, body := send(t, ctx, c, "GET", c.URL(i)+"/api/v1/namespaces", auth.AdminToken(token), nil)
		requireStatus(t, "old admin token on "+s.Name(), http.StatusUnauthorized, body)
		code, body := send(t, ctx, c, "POST", c.URL(i)+"/skiff/v1/nodes/register", token, strings.NewReader(`{"node":"w-old"}`))
		if code != http.StatusUnauthorized {
			t.Errorf("server %s registers a node with the old token: %d %s", s.Name(), code, body)
		}
	}
}

// requireLetIn checks that a process holding token joins gossip and sees
// every server, speaks Raft to each, and registers a node.
func requireLetIn(t *testing.T, ctx context.Context, c *testcluster.Cluster, token string) {
	a := startGossip(t, "new-token-holder", token)
	if err := a.Join(testContext(t, 10*time.Second), gossipSeeds(c)); err != nil {
		t.Fatalf("gossip join with the new token: %v", err)
	}
	want := []string{"new-token-holder", "s1", "s2", "s3"}
	if err := testcluster.WaitFor(ctx, func() bool { return slices.Equal(gossipNames(a), want) }); err != nil {
		t.Fatalf("the new token's gossip agent sees %v, want %v: %v", gossipNames(a), want, err)
	}
	for _, i := range c.Running() {
		s := c.Server(i)
		if term, err := raftProbe(token, s.RaftAddr()); err != nil || term == 0 {
			t.Errorf("server %s over the new token's peer TLS: term %d, %v", s.Name(), term, err)
		}
		code, body := send(t, ctx, c, "POST", c.URL(i)+"/skiff/v1/nodes/register", token, strings.NewReader(`{"node":"w-`+s.Name()+`"}`))
		if code != http.StatusOK {
			t.Errorf("server %s: register with the new token: %d %s", s.Name(), code, body)
		}
	}
}

// startGossip starts a worker-role gossip agent keyed by token, stopped
// when the test ends.
func startGossip(t *testing.T, name, token string) *gossip.Agent {
	t.Helper()
	a, err := gossip.Start(gossip.Config{
		Name:     name,
		BindAddr: "127.0.0.1:0",
		Key:      gossip.KeyFromToken(token),
		Meta:     gossip.Meta{Role: gossip.RoleWorker},
		Profile:  gossip.ProfileLocal,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown() })
	return a
}

// gossipSeeds returns the gossip addresses of the running servers.
func gossipSeeds(c *testcluster.Cluster) []string {
	var seeds []string
	for _, i := range c.Running() {
		seeds = append(seeds, c.Server(i).GossipAddr())
	}
	return seeds
}

func statusFor(ok bool) int {
	if ok {
		return http.StatusOK
	}
	return http.StatusUnauthorized
}
