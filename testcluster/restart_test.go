package testcluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/skiffhq/skiff/testcluster"
)

// TestRestartedServerRejoins stops a server gracefully, writes while it is
// down, and restarts it from its data directory. It must rejoin with its
// state: after catching up it holds the same data as the others, including
// the writes it missed.
func TestRestartedServerRejoins(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leader bool // stop the leader rather than a follower
	}{
		{name: "follower catches up from the log"},
		{name: "leader hands over and catches up", leader: true},
		// A server that restarts after the leader has compacted away what
		// it missed must install a snapshot instead:
		// TestFollowerCatchesUpBySnapshot covers that and checks that the
		// install happened.
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testcluster.Start(t, testcluster.Options{})
			ctx := testContext(t, 60*time.Second)
			leader, err := c.Leader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			down := others(3, leader)[0]
			if tc.leader {
				down = leader
			}
			for i := 0; i < 40; i++ {
				mustPut(t, ctx, node(t, c, i%3), fmt.Sprintf("/registry/configmaps/r/before-%02d", i), "x")
			}
			// The server to stop must hold the writes before it goes.
			requireConverged(t, ctx, c)
			if err := c.StopServer(down); err != nil {
				t.Fatalf("stop server %d: %v", down, err)
			}
			up := others(3, down)
			if _, err := leaderAmong(ctx, c, up...); err != nil {
				t.Fatalf("no leader among %v: %v", up, err)
			}
			missed := map[string]uint64{}
			for i := 0; i < 60; i++ {
				key := fmt.Sprintf("/registry/configmaps/r/while-down-%02d", i)
				missed[key] = mustPut(t, ctx, node(t, c, up[i%2]), key, fmt.Sprint(i))
			}
			if err := c.RestartServer(down); err != nil {
				t.Fatalf("restart server %d: %v", down, err)
			}
			if err := c.WaitReady(ctx); err != nil {
				t.Fatalf("cluster not ready after restart: %v", err)
			}
			requireConverged(t, ctx, c)
			n := node(t, c, down)
			for key, rev := range missed {
				if kv, ok, _ := n.Store().Get(key); !ok || kv.ModRev != rev {
					t.Errorf("restarted server lacks %s at %d: %+v %v", key, rev, kv, ok)
				}
			}
			if got := n.Store().Count("/registry/configmaps/r/before-"); got != 40 {
				t.Errorf("restarted server has %d of the 40 earlier keys", got)
			}
			// And it takes part in writes again.
			mustPut(t, ctx, n, "/registry/configmaps/r/after", "x")
		})
	}
}
