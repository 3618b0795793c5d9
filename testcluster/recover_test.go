package testcluster_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// TestRecoverFromQuorumLoss loses two of three servers for good, recovers
// the survivor as a one-server cluster, and grows it back to three.
func TestRecoverFromQuorumLoss(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	survivor := (leader + 1) % 3
	var acked []string
	for i := 0; i < 50; i++ {
		key := fmt.Sprintf("/recover/k%02d", i)
		res, err := c.Server(survivor).Replica().Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: key, Value: []byte(key)})
		if err != nil || res.Err() != nil {
			t.Fatalf("write %s: %v %v", key, err, res.Err())
		}
		acked = append(acked, key)
	}
	// Every acknowledged write is on a majority; make sure the survivor has
	// applied them all before the others go (a survivor that lags would
	// lose the writes it never received, as documented).
	if err := c.Server(survivor).Replica().Linearize(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if i != survivor {
			c.KillServer(i)
		}
	}
	// Without quorum nothing is written.
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := c.Server(survivor).Replica().Propose(wctx, &fsm.Command{Op: fsm.OpPut, Key: "/recover/lost", Value: []byte("x")}); err == nil {
		t.Fatal("a write succeeded without quorum")
	}
	wcancel()

	c.KillServer(survivor)
	if err := server.Recover(c.Config(survivor), nil); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if err := c.RestartServer(survivor); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Leader(ctx); err != nil || l != survivor {
		t.Fatalf("leader after recovery: %d %v, want %d", l, err, survivor)
	}
	n := c.Server(survivor).Replica()
	if err := n.Linearize(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range acked {
		kv, ok, _ := n.Store().Get(key)
		if !ok || !bytes.Equal(kv.Value, []byte(key)) {
			t.Fatalf("acknowledged write %s lost by recovery", key)
		}
	}
	if res, err := n.Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: "/recover/after", Value: []byte("x")}); err != nil || res.Err() != nil {
		t.Fatalf("write after recovery: %v %v", err, res.Err())
	}

	// Grow back to three with fresh servers.
	for i := 0; i < 2; i++ {
		if _, err := c.AddServer(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitFor(ctx, func() bool {
		servers, err := n.Servers()
		voters := 0
		for _, s := range servers {
			if s.Voter {
				voters++
			}
		}
		return err == nil && voters == 3
	}); err != nil {
		t.Fatalf("cluster did not grow back to three voters: %v", err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// The new servers hold everything.
	for _, i := range c.Running() {
		if kv, ok, _ := c.Server(i).Replica().Store().Get("/recover/after"); !ok || string(kv.Value) != "x" {
			t.Fatalf("server %d lacks the write made after recovery", i)
		}
	}
}
