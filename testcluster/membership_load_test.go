package testcluster_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/testcluster"
)

// Raft's log messages: a server's election timer ran out and it starts a
// (pre-)vote; a leader heard from no quorum within its lease.
const (
	candidateMsg  = "entering candidate state"
	quorumLostMsg = "failed to contact quorum of nodes, stepping down"
)

// TestMembershipChangesUnderLoad changes the Raft configuration while
// writers create keys through every server without pause: it adds a
// fourth server and removes a follower, removes the leader, and cuts a
// follower off for several election timeouts. After each step every
// acknowledged write must be readable, linearizably, on every server still
// in the cluster, no write reported as failed may be there, and the
// replicas must converge to the same hash. The cut-off follower must
// rejoin without deposing the leader: pre-vote keeps it from raising the
// term while it cannot win an election.
//
// It runs twice: with the default Raft settings, where servers catch up
// from the leader's log, and with a snapshot every 64 entries and a short
// log tail, where each added server and the rejoining follower must
// install a snapshot while the writes go on.
func TestMembershipChangesUnderLoad(t *testing.T) {
	for _, tc := range []struct {
		name      string
		raft      config.Raft
		snapshots bool // servers that join or rejoin must install a snapshot
	}{
		{name: "catch-up from the log"},
		{name: "catch-up from snapshots", raft: catchupRaft, snapshots: true},
	} {
		t.Run(tc.name, func(t *testing.T) { membershipUnderLoad(t, steadyRaft(tc.raft), tc.snapshots) })
	}
}

// steadyRaft relaxes Raft's timing so that scheduling stalls on a busy
// machine cost no elections, since step (c) asserts that none happens.
// With the defaults (150 ms leader lease, 300 ms heartbeat timeout) the
// leader stepped down ("failed to contact quorum of nodes") in about one
// run in twenty under -race on two busy cores, whatever the test did.
func steadyRaft(r config.Raft) config.Raft {
	r.HeartbeatTimeout, r.ElectionTimeout, r.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
	return r
}

func membershipUnderLoad(t *testing.T, raftOpts config.Raft, snapshots bool) {
	const (
		writers      = 4
		acksPerPhase = 20    // acknowledged writes per writer in each phase
		maxAttempts  = 20000 // per writer, a bound in case the cluster stalls
		prefix       = "/registry/configmaps/membership-load/"
	)
	logs := newLogCounter()
	c := testcluster.Start(t, testcluster.Options{Logger: slog.New(logs), Raft: raftOpts})
	ctx := testContext(t, 150*time.Second)
	load := startWriteLoad(t, ctx, c, prefix, writers, maxAttempts)
	load.waitAcks(t, ctx, acksPerPhase, "at the start")
	names := []string{"s1", "s2", "s3"}

	// addServer adds a server through gossip and waits until it has
	// caught up; with snapshots it must have done so from one.
	addServer := func(what string) int {
		t.Helper()
		added, err := c.AddServer()
		if err != nil {
			t.Fatal(err)
		}
		name := c.Server(added).Name()
		names = append(names, name)
		waitConfig(t, ctx, c, names...)
		if err := c.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		if snapshots {
			requireInstalled(t, ctx, logs, name, 0)
		}
		load.waitAcks(t, ctx, acksPerPhase, what)
		return added
	}

	// (a) A fourth server joins through gossip; then a follower is
	// removed through the operator API, asked of the new server.
	added := addServer("after adding a server")
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := others(c.N(), leader, added)[0]
	names = removeServer(t, ctx, c, added, victim, names)
	load.waitAcks(t, ctx, acksPerPhase, "after removing a follower")
	load.requireDurable(t, ctx, "after adding a server and removing a follower")

	// (b) The leader is removed, asked of a follower; the other two elect
	// a new leader and writes go on.
	leader, err = c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	via := slices.DeleteFunc(c.Running(), func(i int) bool { return i == leader })[0]
	names = removeServer(t, ctx, c, via, leader, names)
	newLeader, err := c.Leader(ctx)
	if err != nil {
		t.Fatalf("no leader after removing the leader: %v", err)
	}
	t.Logf("server %d leads after server %d, the leader, was removed", newLeader, leader)
	load.waitAcks(t, ctx, acksPerPhase, "after removing the leader")
	load.requireDurable(t, ctx, "after removing the leader")

	// Back to three voters, so that one can be cut off.
	addServer("after adding a third server again")

	// (c) A follower is cut off for several election timeouts. Writes go
	// through the other two meanwhile: the cut-off one has no leader to
	// forward to.
	leader, err = c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	term := node(t, c, leader).Raft().CurrentTerm()
	cut := slices.DeleteFunc(c.Running(), func(i int) bool { return i == leader })[0]
	cutName := c.Server(cut).Name()
	campaigns := logs.countFrom(cutName, candidateMsg)
	installs := logs.countFrom(cutName, snapshotInstalledMsg)
	load.writeThrough(slices.DeleteFunc(c.Running(), func(i int) bool { return i == cut })...)
	c.Partition(cut)
	// Each campaign follows an election timeout without contact.
	const timeouts = 3
	if err := testcluster.WaitFor(ctx, func() bool { return logs.countFrom(cutName, candidateMsg) >= campaigns+timeouts }); err != nil {
		t.Fatalf("cut-off server %s started %d campaigns, want %d: %v", cutName, logs.countFrom(cutName, candidateMsg)-campaigns, timeouts, err)
	}
	load.waitAcks(t, ctx, acksPerPhase, "while a follower is cut off")
	for _, i := range c.Running() {
		if got := node(t, c, i).Raft().CurrentTerm(); got != term {
			t.Errorf("server %d moved from term %d to %d before the heal (leaders that stepped down for want of a quorum: %d)", i, term, got, logs.count(quorumLostMsg))
		}
	}
	if snapshots {
		waitCompactedPast(t, ctx, logs, c.Server(leader).Name(), node(t, c, cut).Raft().LastIndex())
	}
	c.Heal()
	load.writeThrough()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cluster not ready after the heal: %v", err)
	}
	if snapshots {
		requireInstalled(t, ctx, logs, cutName, installs)
	}
	load.waitAcks(t, ctx, acksPerPhase, "after the heal")
	load.requireDurable(t, ctx, "after a follower rejoined")
	if now, err := c.Leader(ctx); err != nil || now != leader {
		t.Errorf("leader is server %d (%v) after the heal, want %d as before", now, err, leader)
	}
	for _, i := range c.Running() {
		if got := node(t, c, i).Raft().CurrentTerm(); got != term {
			t.Errorf("server %d is at term %d after the heal, want %d as before (leaders that stepped down for want of a quorum: %d)", i, got, term, logs.count(quorumLostMsg))
		}
	}
}

// removeServer removes server victim through the operator API of server
// via, waits for the configuration to drop it and for it to stop, and
// returns names without it.
func removeServer(t *testing.T, ctx context.Context, c *testcluster.Cluster, via, victim int, names []string) []string {
	t.Helper()
	name := c.Server(victim).Name()
	postID(t, ctx, c, via, removePath, name)
	names = slices.DeleteFunc(names, func(n string) bool { return n == name })
	waitConfig(t, ctx, c, names...)
	requireRemoved(t, ctx, c, victim)
	return names
}
