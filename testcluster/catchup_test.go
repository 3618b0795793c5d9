package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// Raft's log messages that show a snapshot changing hands: the leader's
// when it starts sending one to a peer (attribute "peer"), the follower's
// once it has restored from it, and any server's when it deletes log
// entries up to and including index "to" after a snapshot.
const (
	snapshotSendMsg      = "installing snapshot on"
	snapshotInstalledMsg = "Installed remote snapshot"
	logCompactedMsg      = "compacting logs"
)

// catchupRaft snapshots every 64 entries and keeps only 16 entries of log
// behind a snapshot, so that a follower that misses a few hundred writes
// finds the leader's log compacted past the entry it needs next.
var catchupRaft = config.Raft{SnapshotThreshold: 64, TrailingLogs: 16, SnapshotInterval: 20 * time.Millisecond}

// TestFollowerCatchesUpBySnapshot cuts a follower off, by a partition or
// by killing it, while the others delete keys it holds, update others and
// create new ones, until the leader has compacted its log past the
// follower's last entry. Log replay is then impossible: the follower must
// install the leader's snapshot. The test checks that this is what
// happened, in Raft's own logs on both sides, and that the follower ends
// up with the leader's exact state: the same hash at the same revision,
// the deleted keys gone, the new ones present. (TestRestartedServerRejoins
// covers a graceful restart that catches up from the log.)
func TestFollowerCatchesUpBySnapshot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cut    func(c *testcluster.Cluster, i int)
		rejoin func(c *testcluster.Cluster, i int) error
	}{
		{
			name:   "partitioned",
			cut:    func(c *testcluster.Cluster, i int) { c.Partition(i) },
			rejoin: func(c *testcluster.Cluster, _ int) error { c.Heal(); return nil },
		},
		{
			name:   "killed and restarted",
			cut:    func(c *testcluster.Cluster, i int) { c.KillServer(i) },
			rejoin: func(c *testcluster.Cluster, i int) error { return c.RestartServer(i) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := newLogCounter()
			c := testcluster.Start(t, testcluster.Options{Raft: catchupRaft, Logger: slog.New(logs)})
			ctx := testContext(t, 90*time.Second)
			leader, err := c.Leader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			f := others(3, leader)[0]
			majority := others(3, f)
			fName := c.Server(f).Name()

			const prefix = "/registry/configmaps/catchup/"
			old := func(i int) string { return fmt.Sprintf("%sold-%03d", prefix, i) }
			want := map[string]fsm.KV{} // the expected final state under prefix
			for i := 0; i < 100; i++ {
				rev := mustPut(t, ctx, node(t, c, i%3), old(i), "old")
				want[old(i)] = fsm.KV{Value: []byte("old"), ModRev: rev}
			}
			requireConverged(t, ctx, c)
			fNode := node(t, c, f)
			if kv, ok, _ := fNode.Store().Get(old(0)); !ok || string(kv.Value) != "old" {
				t.Fatalf("follower lacks %s before the cut: %+v %v", old(0), kv, ok)
			}
			installsBefore := logs.countFrom(fName, snapshotInstalledMsg)
			sendsBefore := map[string]int{}
			for _, i := range majority {
				name := c.Server(i).Name()
				sendsBefore[name] = logs.countFrom(name, snapshotSendMsg)
			}

			tc.cut(c, f)
			cutAt := time.Now()
			// A watch on a follower that stays up sees the writes it
			// replays from the log as events; a snapshot install ends it.
			var watch *fsm.Watcher
			if c.Server(f) != nil {
				if watch, err = fNode.Store().Watch(prefix, fNode.Store().Rev()); err != nil {
					t.Fatal(err)
				}
			}
			// Through the two servers left, in turn: delete half the keys
			// the follower has, update a quarter, and create 200 new ones.
			k := 0
			via := func() int { k++; return majority[k%2] }
			for i := 0; i < 100; i += 2 {
				// A delete of an absent key fails with ErrKeyNotFound.
				if _, err := propose(ctx, node(t, c, via()), &fsm.Command{Op: fsm.OpDelete, Key: old(i)}); err != nil {
					t.Fatalf("delete %s: %v", old(i), err)
				}
				delete(want, old(i))
			}
			for i := 1; i < 100; i += 4 {
				rev := mustPut(t, ctx, node(t, c, via()), old(i), "updated")
				want[old(i)] = fsm.KV{Value: []byte("updated"), ModRev: rev}
			}
			for i := 0; i < 200; i++ {
				key := fmt.Sprintf("%snew-%03d", prefix, i)
				rev := mustPut(t, ctx, node(t, c, via()), key, strconv.Itoa(i))
				want[key] = fsm.KV{Value: []byte(strconv.Itoa(i)), ModRev: rev}
			}

			// The follower's log ends where it was cut off (a killed
			// node's Raft still reports its last index).
			fLast := fNode.Raft().LastIndex()
			wrote := time.Since(cutAt)
			leader, err = leaderAmong(ctx, c, majority...)
			if err != nil {
				t.Fatalf("no leader among %v: %v", majority, err)
			}
			lName := c.Server(leader).Name()
			compacted := waitCompactedPast(t, ctx, logs, lName, fLast)
			t.Logf("follower %s last index %d; leader %s compacted through %d", fName, fLast, lName, compacted)

			rejoinAt := time.Now()
			if err := tc.rejoin(c, f); err != nil {
				t.Fatalf("rejoin server %d: %v", f, err)
			}
			if err := c.WaitReady(ctx); err != nil {
				t.Fatalf("cluster not ready after the follower rejoined: %v", err)
			}
			requireInstalled(t, ctx, logs, fName, installsBefore)
			if watch != nil {
				if evs, err := watch.Next(ctx); !errors.Is(err, fsm.ErrCompacted) {
					t.Errorf("watch on the follower got %d events and %v, want ErrCompacted from the install", len(evs), err)
				}
			}
			// Whichever server led by then sent it.
			sent := false
			for name, before := range sendsBefore {
				peer, _ := logs.lastAttr(name, snapshotSendMsg, "peer")
				sent = sent || logs.countFrom(name, snapshotSendMsg) > before && peer.String() == fName
			}
			if !sent {
				t.Errorf("no server logged sending a snapshot to %s since the cut", fName)
			}
			rev := requireConverged(t, ctx, c)
			// Durations only, for reading slow runs: Raft retries a peer
			// it could not reach with a backoff that grows to 10 s.
			t.Logf("converged at revision %d; writes while cut off took %v, catching up %v", rev, wrote.Round(time.Millisecond), time.Since(rejoinAt).Round(time.Millisecond))

			fNode = node(t, c, f)
			if idx, err := strconv.ParseUint(fNode.Raft().Stats()["last_snapshot_index"], 10, 64); err != nil || idx <= fLast {
				t.Errorf("follower's last snapshot index %d (%v), want above its old last index %d", idx, err, fLast)
			}
			got, _, _ := fNode.Store().List(prefix, "", 0)
			requireKVs(t, "follower "+fName, got, want)
			// And it takes part in writes again.
			mustPut(t, ctx, fNode, prefix+"after", "x")
		})
	}
}

// waitCompactedPast waits until server leader has compacted its Raft log
// past index, so that a follower whose log ends at index can only catch up
// from a snapshot, and returns the index it compacted through. Snapshots
// and compaction run in the background, every SnapshotThreshold entries.
func waitCompactedPast(t *testing.T, ctx context.Context, logs *logCounter, leader string, index uint64) uint64 {
	t.Helper()
	var compacted uint64
	if err := testcluster.WaitFor(ctx, func() bool {
		compacted, _ = logs.lastUint(leader, logCompactedMsg, "to")
		return compacted > index
	}); err != nil {
		t.Fatalf("leader %s compacted its log only through %d, a follower's log ends at %d: %v", leader, compacted, index, err)
	}
	return compacted
}

// requireInstalled waits until server follower has installed more
// snapshots from a leader than the count before, taken when it was cut off.
func requireInstalled(t *testing.T, ctx context.Context, logs *logCounter, follower string, before int) {
	t.Helper()
	if err := testcluster.WaitFor(ctx, func() bool { return logs.countFrom(follower, snapshotInstalledMsg) > before }); err != nil {
		t.Fatalf("server %s caught up without installing a snapshot: %v", follower, err)
	}
}

// requireKVs checks that kvs holds exactly the keys of want with their
// values and mod revisions.
func requireKVs(t *testing.T, who string, kvs []fsm.KV, want map[string]fsm.KV) {
	t.Helper()
	seen := map[string]bool{}
	for _, kv := range kvs {
		seen[kv.Key] = true
		w, ok := want[kv.Key]
		switch {
		case !ok:
			t.Errorf("%s: has %s (mod revision %d), which is deleted or was never written", who, kv.Key, kv.ModRev)
		case string(kv.Value) != string(w.Value) || kv.ModRev != w.ModRev:
			t.Errorf("%s: %s = %q at %d, want %q at %d", who, kv.Key, kv.Value, kv.ModRev, w.Value, w.ModRev)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s: lacks %s", who, key)
		}
	}
}
