package testcluster_test

import (
	"testing"
	"time"

	"github.com/skiffhq/skiff/testcluster"
)

// TestLeaderKillKeepsAcknowledgedWrites kills the leader as kill -9 would
// while several writers run through every server, then kills and restarts
// the whole cluster, and checks that every acknowledged write survived on
// every replica.
func TestLeaderKillKeepsAcknowledgedWrites(t *testing.T) {
	const (
		writers      = 4
		acksPerPhase = 25   // acknowledged writes per writer before and after the kill
		maxAttempts  = 2000 // per writer, a bound in case the cluster stalls
		prefix       = "/registry/configmaps/failover/"
	)
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 90*time.Second)
	oldLeader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}

	load := startWriteLoad(t, ctx, c, prefix, writers, maxAttempts)
	load.waitAcks(t, ctx, acksPerPhase, "before the kill")
	c.KillServer(oldLeader)
	newLeader, err := c.Leader(ctx)
	if err != nil {
		t.Fatalf("no new leader after killing server %d: %v", oldLeader, err)
	}
	if newLeader == oldLeader {
		t.Fatalf("killed leader %d is leader again", oldLeader)
	}
	load.waitAcks(t, ctx, acksPerPhase, "after the kill")
	load.stop()

	// Crash the survivors too, then bring all three back from disk.
	for _, i := range c.Running() {
		c.KillServer(i)
	}
	for i := 0; i < c.N(); i++ {
		if err := c.RestartServer(i); err != nil {
			t.Fatalf("restart server %d: %v", i, err)
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cluster not ready after full restart: %v", err)
	}
	load.requireDurable(t, ctx, "after the restart")
}
