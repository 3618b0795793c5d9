package testcluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

const snapshotPath = "/skiff/v1/operator/snapshot"

// writeMany makes n writes of fill-<i> keys through the servers of c from a
// few goroutines, to move the cluster's revision forward quickly.
func writeMany(t *testing.T, ctx context.Context, c *testcluster.Cluster, prefix string, n int) {
	t.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				key := fmt.Sprintf("%sfill-%04d", prefix, i)
				if _, err := propose(ctx, c.Server(i%c.N()).Replica(), &fsm.Command{Op: fsm.OpPut, Key: key, Value: []byte("b")}); err != nil {
					errs <- fmt.Errorf("put %s: %w", key, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// follower returns a running server of c that is not the leader.
func follower(t *testing.T, ctx context.Context, c *testcluster.Cluster) int {
	t.Helper()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return others(c.N(), leader)[0]
}

// TestSnapshotSaveAndRestore saves a snapshot of one cluster through a
// follower and restores it into other clusters through their followers:
// one whose revision is behind the snapshot's and one whose revision is
// ahead. Every server of the target must then hold exactly the source's
// keys with their values and revisions, except that it keeps its own
// cluster CA, and revisions must keep moving forward.
func TestSnapshotSaveAndRestore(t *testing.T) {
	ctx := testContext(t, 100*time.Second)
	a := testcluster.Start(t, testcluster.Options{})
	la, err := a.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 200 creates, then updates and deletes, so that create and mod
	// revisions differ and deleted keys must stay deleted.
	const prefixA = "/registry/configmaps/a/"
	writer := node(t, a, la)
	var lastWrite uint64
	for i := 0; i < 200; i++ {
		lastWrite = mustPut(t, ctx, writer, fmt.Sprintf("%sk%03d", prefixA, i), fmt.Sprintf("v%d", i))
	}
	for i := 0; i < 200; i += 4 {
		lastWrite = mustPut(t, ctx, writer, fmt.Sprintf("%sk%03d", prefixA, i), fmt.Sprintf("updated %d", i))
	}
	for i := 1; i < 200; i += 7 {
		res, err := propose(ctx, writer, &fsm.Command{Op: fsm.OpDelete, Key: fmt.Sprintf("%sk%03d", prefixA, i)})
		if err != nil {
			t.Fatal(err)
		}
		lastWrite = res.Rev
	}
	code, snap, err := a.Do(ctx, follower(t, ctx, a), http.MethodGet, snapshotPath, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("save snapshot: %d %v: %s", code, err, snap)
	}
	sn, err := fsm.ReadSnapshot(bytes.NewReader(snap))
	if err != nil {
		t.Fatalf("saved snapshot does not parse: %v", err)
	}
	// The servers write keys of their own (system namespaces) in the
	// background, so compare with A only under the test's prefix; the
	// snapshot's whole content, read back into a store, is what the
	// target must hold.
	fromSnap := fsm.New(fsm.Options{})
	if err := fromSnap.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	want, _, _ := fromSnap.List("", "", 0)
	if sn.Rev() < lastWrite {
		t.Fatalf("snapshot at revision %d misses the acknowledged write at %d", sn.Rev(), lastWrite)
	}
	source, _, _ := writer.Store().List(prefixA, "", 0)
	if len(source) != 171 {
		t.Fatalf("source holds %d keys under %s, want 171", len(source), prefixA)
	}
	inSnap, _, _ := fromSnap.List(prefixA, "", 0)
	requireSameKVs(t, "snapshot", inSnap, source)

	for _, tc := range []struct {
		name   string
		writes int // writes to the target before the restore
	}{
		{"target behind snapshot", 20},
		{"target ahead of snapshot", int(sn.Rev()) + 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 60*time.Second)
			b := testcluster.Start(t, testcluster.Options{})
			writeMany(t, ctx, b, "/registry/configmaps/b/", tc.writes)
			const onlyB = "/registry/secrets/b/only-in-b"
			mustPut(t, ctx, node(t, b, 0), onlyB, "b")
			bRev := requireConverged(t, ctx, b)
			caB := b.Server(0).CA()
			if caB == nil {
				t.Fatal("server 0 of the target has no cluster CA")
			}

			code, body, err := b.Do(ctx, follower(t, ctx, b), http.MethodPut, snapshotPath, bytes.NewReader(snap))
			if err != nil || code != http.StatusOK {
				t.Fatalf("restore through a follower: %d %v: %s", code, err, body)
			}
			var reply struct{ Revision uint64 }
			if err := json.Unmarshal(body, &reply); err != nil {
				t.Fatalf("restore reply %q: %v", body, err)
			}
			if reply.Revision <= max(bRev, sn.Rev()) {
				t.Errorf("revision after restore %d, want above the target's %d and the snapshot's %d", reply.Revision, bRev, sn.Rev())
			}
			for i := 0; i < b.N(); i++ {
				n := node(t, b, i)
				if err := n.Linearize(ctx); err != nil {
					t.Fatalf("server %d: %v", i, err)
				}
				got, _, rev := n.Store().List("", "", 0)
				if rev < reply.Revision {
					t.Errorf("server %d at revision %d after linearize, restore ended at %d", i, rev, reply.Revision)
				}
				requireSameKVs(t, fmt.Sprintf("server %d", i), withoutIdentity(got), withoutIdentity(want))
				if _, ok, _ := n.Store().Get(onlyB); ok {
					t.Errorf("server %d still has %s, which the snapshot lacks", i, onlyB)
				}
			}
			after := mustPut(t, ctx, node(t, b, 1), "/registry/configmaps/b/after", "x")
			if after <= max(bRev, sn.Rev(), reply.Revision) {
				t.Errorf("write after restore at revision %d, want above %d, %d and %d", after, bRev, sn.Rev(), reply.Revision)
			}
			// A server restarted now recovers from the restored snapshot
			// on its disk plus the log after it.
			b.KillServer(2)
			if err := b.RestartServer(2); err != nil {
				t.Fatal(err)
			}
			if err := b.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			requireConverged(t, ctx, b)
			got, _, _ := node(t, b, 2).Store().List(prefixA, "", 0)
			requireSameKVs(t, "restarted server 2", got, inSnap)
			// The target kept its own cluster identity: the restarted
			// server issued its certificate from the same CA as the
			// others, or WaitReady could not have passed.
			for i := 0; i < b.N(); i++ {
				if ca := b.Server(i).CA(); !bytes.Equal(ca, caB) {
					t.Errorf("server %d has a different cluster CA after the restore", i)
				}
			}
		})
	}
}

// identityPrefix holds a cluster's own identity (its CA), which a restore
// keeps rather than taking the snapshot's.
const identityPrefix = "/registry/skiff.io/"

// withoutIdentity drops the cluster-identity keys from a listing.
func withoutIdentity(kvs []fsm.KV) []fsm.KV {
	return slices.DeleteFunc(slices.Clone(kvs), func(kv fsm.KV) bool { return strings.HasPrefix(kv.Key, identityPrefix) })
}

// requireSameKVs compares two listings field by field.
func requireSameKVs(t *testing.T, who string, got, want []fsm.KV) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", who, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Key != w.Key || !bytes.Equal(g.Value, w.Value) || g.CreateRev != w.CreateRev || g.ModRev != w.ModRev {
			t.Errorf("%s: key %d is %s=%q (create %d, mod %d), want %s=%q (create %d, mod %d)",
				who, i, g.Key, g.Value, g.CreateRev, g.ModRev, w.Key, w.Value, w.CreateRev, w.ModRev)
			return
		}
	}
}

// TestSnapshotRestoreRejectsJunk uploads malformed snapshots through a
// follower; each is refused with 400 and leaves the cluster unchanged.
func TestSnapshotRestoreRejectsJunk(t *testing.T) {
	const prefix = "/registry/configmaps/j/"
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	for i := 0; i < 10; i++ {
		mustPut(t, ctx, node(t, c, i%3), prefix+"k"+strconv.Itoa(i), "v")
	}
	code, good, err := c.Do(ctx, 0, http.MethodGet, snapshotPath, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("save snapshot: %d %v", code, err)
	}
	// A key written after the snapshot disappears if a restore of it
	// slips through.
	mustPut(t, ctx, node(t, c, 0), prefix+"after-snapshot", "v")
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff

	// The servers write keys of their own in the background, so rather
	// than the whole state, check the test's keys and that no restore
	// happened: a restore ends every open watch with ErrCompacted.
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := node(t, c, leader)
	before, _, rev := n.Store().List(prefix, "", 0)
	w, err := n.Store().Watch(prefix, rev)
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel() // Next with an ended context reports without waiting

	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"junk", []byte("this is not a snapshot")},
		{"empty", nil},
		{"truncated", good[:len(good)-10]},
		{"corrupted", flipped},
		{"trailing data", append(bytes.Clone(good), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := c.Do(ctx, follower(t, ctx, c), http.MethodPut, snapshotPath, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusBadRequest {
				t.Fatalf("restore of %s: %d %s, want 400", tc.name, code, body)
			}
			requireStatus(t, "restore of "+tc.name, http.StatusBadRequest, body)
			if err := n.Linearize(ctx); err != nil {
				t.Fatal(err)
			}
			if evs, err := w.Next(done); !errors.Is(err, context.Canceled) {
				t.Fatalf("watch of the unchanged keys returned %d events, %v", len(evs), err)
			}
			after, _, _ := n.Store().List(prefix, "", 0)
			requireSameKVs(t, "after the refused restore", after, before)
		})
	}
}
