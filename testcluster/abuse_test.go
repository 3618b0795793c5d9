package testcluster_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/internal/abuse"
	"github.com/skiffhq/skiff/testcluster"
)

// TestAbuseCluster sends generated bad requests (package internal/abuse)
// to a three-server cluster, spread over the servers so followers forward
// and refuse them too: every answer must be a 4xx the case allows, as a
// Status; no failure may change the store of the server that answered
// it; every replica ends with the same store; no stored value exceeds a
// store command; and the heap must not grow without bound. It sends
// SKIFF_ABUSE_CLUSTER_N cases, 200 by default, from SKIFF_ABUSE_SEED.
func TestAbuseCluster(t *testing.T) {
	n := envInt(t, "SKIFF_ABUSE_CLUSTER_N", 200)
	seed := uint64(envInt(t, "SKIFF_ABUSE_SEED", 1))
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 10*time.Minute)
	client := c.HTTPClient()
	defer client.CloseIdleConnections()
	targets := make([]abuse.Target, c.N())
	for i := range targets {
		targets[i] = abuse.Target{BaseURL: c.URL(i), Client: client, Token: c.AdminToken()}
	}
	// The leader creates the system namespaces after its election: wait
	// for them, so that no write but the cases' own lands during the run.
	if err := c.WaitFor(ctx, func() bool {
		for _, ns := range apiserver.SystemNamespaces {
			if _, ok, _ := node(t, c, 0).Store().Get("/registry/namespaces/" + ns); !ok {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("system namespaces: %v", err)
	}
	g := abuse.New(seed, abuse.Options{Validation: true})
	for _, req := range g.Prelude() {
		if resp, err := targets[0].Send(ctx, req); err != nil || resp.Code/100 != 2 {
			t.Fatalf("prelude %s: %d %v %s", req, resp.Code, err, resp.Body)
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	counts := map[abuse.Class]int{}
	start := time.Now()
	for range n {
		cs := g.Next()
		counts[cs.Class]++
		i := cs.N % len(targets)
		if err := targets[i].Prepare(ctx, cs); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		hashBefore := replicaHash(t, ctx, c, i)
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := targets[i].Send(rctx, cs.Request)
		cancel()
		if err != nil {
			t.Fatalf("seed %d, server %d, %s: %v", seed, i, cs, err)
		}
		if err := cs.Check(resp); err != nil {
			t.Errorf("seed %d, server %d, %s: %v", seed, i, cs, err)
		}
		if hashAfter := replicaHash(t, ctx, c, i); hashAfter != hashBefore {
			t.Errorf("seed %d, server %d, %s: answered %d and changed the store", seed, i, cs, resp.Code)
		}
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<20 {
		t.Errorf("heap grew by %d MiB over %d cases", grew>>20, n)
	}
	want := replicaHash(t, ctx, c, 0)
	for i := 1; i < c.N(); i++ {
		if got := replicaHash(t, ctx, c, i); got != want {
			t.Errorf("server %d's store differs from server 0's", i)
		}
	}
	for i := range c.N() {
		kvs, _, _ := node(t, c, i).Store().List("", "", 0)
		for _, kv := range kvs {
			if len(kv.Value) > fsm.MaxCommandSize {
				t.Errorf("server %d: %s holds %d bytes, over fsm.MaxCommandSize", i, kv.Key, len(kv.Value))
			}
		}
	}
	t.Logf("seed %d: %d cases over %d servers in %v, heap %d → %d MiB", seed, n, c.N(), took.Round(time.Millisecond), before.HeapAlloc>>20, after.HeapAlloc>>20)
	for _, cl := range g.Classes() {
		t.Logf("  %-28s %d", cl, counts[cl])
	}
}

// replicaHash returns the hash of server i's store once it has applied
// every write acknowledged before the call.
func replicaHash(t *testing.T, ctx context.Context, c *testcluster.Cluster, i int) [32]byte {
	t.Helper()
	nd := node(t, c, i)
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nd.Linearize(lctx); err != nil {
		t.Fatalf("server %d: linearize: %v", i, err)
	}
	_, sum := nd.Store().Hash()
	return sum
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
