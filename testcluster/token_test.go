package testcluster_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// joinFailedMsg is what a gossip agent logs for each failed join attempt.
const joinFailedMsg = "gossip join attempt failed"

// TestWrongTokenCannotJoin starts a server whose token differs from the
// cluster's and points it at the cluster's gossip addresses. Gossip is
// encrypted with a key derived from the token, so every join attempt must
// fail, and the server must never show up in anyone's gossip view or in
// the Raft configuration.
func TestWrongTokenCannotJoin(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	obs := observeGossip(t, c)

	cfg := config.DefaultServer()
	cfg.Name = "intruder"
	cfg.DataDir = filepath.Join(t.TempDir(), "intruder")
	cfg.APIAddr, cfg.RaftAddr, cfg.GossipAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.BootstrapExpect = 3
	cfg.Token = "not-the-cluster-token-0123456789"
	for i := 0; i < 3; i++ {
		cfg.Join = append(cfg.Join, c.Server(i).GossipAddr())
	}
	logs := newLogCounter()
	intruder, err := server.New(cfg, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(intruder.Kill)

	// The intruder retries its join with a doubling backoff (0.1s, 0.2s,
	// 0.4s, 0.8s, 1.6s), so six failed attempts span about three seconds: several
	// runs of the leader's reconcile (at least one a second) and many
	// gossip rounds, in which a member that had got in would have been
	// seen and added. Check the invariants throughout.
	const attempts = 6
	var failure error
	err = testcluster.WaitFor(ctx, func() bool {
		failure = intruderAbsent(c, obs, intruder)
		return failure != nil || logs.count(joinFailedMsg) >= attempts
	})
	if failure != nil {
		t.Fatal(failure)
	}
	if err != nil {
		t.Fatalf("intruder logged %d failed join attempts, want %d: %v", logs.count(joinFailedMsg), attempts, err)
	}
	if logs.count("joined gossip cluster") != 0 {
		t.Fatal("intruder reports it joined the gossip cluster")
	}
}

// intruderAbsent returns an error describing how the intruder got in, or
// nil if it is in no gossip view, no Raft configuration, and has no Raft
// state or leader of its own.
func intruderAbsent(c *testcluster.Cluster, obs *gossip.Agent, intruder *server.Server) error {
	if names := gossipNames(obs); slices.Contains(names, intruder.Name()) {
		return fmt.Errorf("intruder is a gossip member: %v", names)
	}
	for _, i := range c.Running() {
		ids, err := raftIDs(c.Server(i).Replica())
		if err != nil {
			return fmt.Errorf("server %d: %w", i, err)
		}
		if len(ids) != 3 || slices.Contains(ids, intruder.Name()) {
			return fmt.Errorf("server %d: raft configuration %v", i, ids)
		}
	}
	n := intruder.Replica()
	if id, _ := n.Leader(); n.HasState() || id != "" {
		return fmt.Errorf("intruder has raft state (%v) or follows leader %q", n.HasState(), id)
	}
	return nil
}
