package testcluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// TestPartitionedLeaderServesNothing cuts the leader off from the other
// two servers. The old leader must neither answer a linearizable read nor
// commit a write, while the majority elects a new leader and carries on;
// after the partition heals the three servers converge.
func TestPartitionedLeaderServesNothing(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	old, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	majority := others(3, old)
	before := mustPut(t, ctx, node(t, c, old), "/registry/configmaps/p/before", "before")

	oldNode := node(t, c, old)
	c.Partition(old)

	// The isolated leader's write runs while the majority moves on.
	type outcome struct {
		err error
		res fsm.Result
	}
	writeDone := make(chan outcome, 1)
	const isolatedKey = "/registry/configmaps/p/isolated"
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		res, err := oldNode.Propose(wctx, &fsm.Command{Op: fsm.OpCreate, Key: isolatedKey, Value: []byte("lost")})
		writeDone <- outcome{err, res}
	}()

	newLeader, err := leaderAmong(ctx, c, majority...)
	if err != nil {
		t.Fatalf("majority %v elected no leader: %v", majority, err)
	}
	t.Logf("server %d leads the majority %v", newLeader, majority)
	majorityKey := func(i int) string { return fmt.Sprintf("/registry/configmaps/p/majority-%d", i) }
	var majorityRevs []uint64
	for _, i := range majority {
		majorityRevs = append(majorityRevs, mustPut(t, ctx, node(t, c, i), majorityKey(i), "ok"))
	}

	// Once the majority has committed writes, a linearizable read on the
	// old leader would be stale: it must be refused. (The read starts
	// only now: one started at the instant of the cut may still be
	// confirmed by a heartbeat answered just before it, which is not stale.)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = oldNode.Linearize(rctx)
	cancel()
	if err == nil {
		t.Errorf("partitioned old leader %d served a linearizable read after the majority moved on", old)
	}
	w := <-writeDone
	if w.err == nil {
		t.Errorf("partitioned old leader %d acknowledged a write at revision %d", old, w.res.Rev)
	}
	t.Logf("isolated old leader: write error %v", w.err)
	for _, i := range majority {
		kv, ok, err := linearGet(ctx, node(t, c, i), isolatedKey)
		if err != nil {
			t.Fatalf("majority server %d: %v", i, err)
		}
		if ok {
			t.Fatalf("majority server %d sees the write submitted to the isolated leader: %+v", i, kv)
		}
	}

	c.Heal()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cluster not ready after heal: %v", err)
	}
	requireConverged(t, ctx, c)
	// The write reached at most the isolated leader's log, in a term the
	// majority superseded; the new leader never had it, so healing must
	// have discarded it everywhere rather than committed it.
	for i := 0; i < 3; i++ {
		n := node(t, c, i)
		if _, ok, _ := n.Store().Get(isolatedKey); ok {
			t.Errorf("server %d: the isolated leader's write was committed after the heal", i)
		}
		if kv, ok, _ := n.Store().Get("/registry/configmaps/p/before"); !ok || kv.ModRev != before {
			t.Errorf("server %d: write from before the partition: %+v %v, want revision %d", i, kv, ok, before)
		}
		for k, m := range majority {
			key := majorityKey(m)
			if kv, ok, _ := n.Store().Get(key); !ok || kv.ModRev != majorityRevs[k] {
				t.Errorf("server %d: majority write %s: %+v %v, want revision %d", i, key, kv, ok, majorityRevs[k])
			}
		}
	}
}
