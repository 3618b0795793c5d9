package testcluster_test

import (
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// TestSingleServer runs a cluster of one (bootstrap_expect 1): it leads
// alone, accepts writes, and keeps them across a restart.
func TestSingleServer(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	ctx := testContext(t, 30*time.Second)
	if l, err := c.Leader(ctx); err != nil || l != 0 {
		t.Fatalf("leader %d, %v; want server 0", l, err)
	}
	n := node(t, c, 0)
	rev := mustPut(t, ctx, n, "/registry/configmaps/one/a", "1")
	res, err := propose(ctx, n, &fsm.Command{Op: fsm.OpUpdate, Key: "/registry/configmaps/one/a", Value: []byte("2"), Rev: rev})
	if err != nil {
		t.Fatalf("compare-and-swap: %v", err)
	}
	if ids, err := raftIDs(n); err != nil || len(ids) != 1 {
		t.Fatalf("raft configuration %v, %v; want one voter", ids, err)
	}

	c.KillServer(0)
	if err := c.RestartServer(0); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	kv, ok, err := linearGet(ctx, node(t, c, 0), "/registry/configmaps/one/a")
	if err != nil || !ok || string(kv.Value) != "2" || kv.ModRev != res.Rev || kv.CreateRev != rev {
		t.Fatalf("after restart: %+v %v %v; want 2 created at %d, modified at %d", kv, ok, err, rev, res.Rev)
	}
}
