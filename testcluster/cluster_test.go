package testcluster_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

func TestFollowerWriteVisibleEverywhere(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % 3
	res, err := c.Server(follower).Replica().Propose(ctx, &fsm.Command{Op: fsm.OpCreate, Key: "/registry/configmaps/default/a", Value: []byte("v1")})
	if err != nil || res.Err() != nil {
		t.Fatalf("propose on follower: %v %v", err, res.Err())
	}
	for i := 0; i < 3; i++ {
		n := c.Server(i).Replica()
		if err := n.Linearize(ctx); err != nil {
			t.Fatalf("server %d: linearize: %v", i, err)
		}
		kv, ok, _ := n.Store().Get("/registry/configmaps/default/a")
		if !ok || !bytes.Equal(kv.Value, []byte("v1")) || kv.ModRev != res.Rev {
			t.Fatalf("server %d: got %+v %v, want v1 at %d", i, kv, ok, res.Rev)
		}
	}
}
