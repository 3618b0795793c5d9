package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/skiffhq/skiff/testcluster/proc"
)

// fault is one kind of failure a run injects into one server (or, for
// delay-all, every server) and later heals.
type fault struct {
	name string
	// leader says whether the fault targets the leader (else a follower).
	leader bool
	// hold is how long the fault lasts.
	hold time.Duration
	// inject starts the fault on target; heal ends it and brings the
	// server back.
	inject func(c *proc.Cluster, target int) error
	heal   func(c *proc.Cluster, target int) error
}

func kill(c *proc.Cluster, i int) error { c.Kill(i); return nil }

func restart(c *proc.Cluster, i int) error { return c.StartServer(i) }

func pause(c *proc.Cluster, i int) error  { return c.Pause(i) }
func resume(c *proc.Cluster, i int) error { return c.Resume(i) }

func isolate(c *proc.Cluster, i int) error { c.Isolate(i, true); return nil }
func rejoin(c *proc.Cluster, i int) error  { c.Isolate(i, false); return nil }

func partition(c *proc.Cluster, i int) error   { c.Partition(i); return nil }
func unpartition(c *proc.Cluster, _ int) error { c.Heal(); return nil }

// slow adds 40–80 ms to every hop through the target's port, so a round
// trip between two slowed servers takes 160–320 ms: around Raft's 300 ms
// heartbeat timeout, where elections start to happen.
func slow(c *proc.Cluster, i int) error {
	c.Delay(i, 40*time.Millisecond, 40*time.Millisecond)
	return nil
}
func fast(c *proc.Cluster, i int) error { c.Delay(i, 0, 0); return nil }

func everyServer(f func(*proc.Cluster, int) error) func(*proc.Cluster, int) error {
	return func(c *proc.Cluster, _ int) error {
		for _, i := range c.All() {
			if err := f(c, i); err != nil {
				return err
			}
		}
		return nil
	}
}

// faults are the kinds a run picks from.
var faults = []fault{
	{name: "kill-leader", leader: true, hold: 2 * time.Second, inject: kill, heal: restart},
	{name: "kill-follower", hold: 2 * time.Second, inject: kill, heal: restart},
	{name: "pause-leader", leader: true, hold: 5 * time.Second, inject: pause, heal: resume},
	{name: "pause-follower", hold: 5 * time.Second, inject: pause, heal: resume},
	{name: "isolate-leader", leader: true, hold: 3 * time.Second, inject: isolate, heal: rejoin},
	{name: "isolate-follower", hold: 3 * time.Second, inject: isolate, heal: rejoin},
	{name: "partition-leader", leader: true, hold: 3 * time.Second, inject: partition, heal: unpartition},
	{name: "partition-follower", hold: 3 * time.Second, inject: partition, heal: unpartition},
	{name: "delay-leader", leader: true, hold: 3 * time.Second, inject: slow, heal: fast},
	{name: "delay-all", hold: 3 * time.Second, inject: everyServer(slow), heal: everyServer(fast)},
}

// pickTarget returns the leader or a follower chosen by n.
func pickTarget(ctx context.Context, c *proc.Cluster, f fault, n int) (int, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	leader, err := c.Leader(lctx)
	if err != nil {
		return 0, fmt.Errorf("find the leader: %w", err)
	}
	if f.leader {
		return leader, nil
	}
	return (leader + 1 + n%(c.N()-1)) % c.N(), nil
}
