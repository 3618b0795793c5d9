package testcluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// writeLog records the outcome of every write of a test, by key. Each key
// is written at most once, so a key identifies one attempt.
type writeLog struct {
	mu      sync.Mutex
	acked   map[string]fsm.Result // applied: Propose and Result.Err returned nil
	unknown map[string]bool       // may or may not have been applied
	failed  map[string]error      // reported as not applied
}

func newWriteLog() *writeLog {
	return &writeLog{acked: map[string]fsm.Result{}, unknown: map[string]bool{}, failed: map[string]error{}}
}

func (l *writeLog) record(key string, res fsm.Result, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.acked[key] = res
	case errUnknown(err):
		l.unknown[key] = true
	default:
		l.failed[key] = err
	}
}

// check verifies a replica's view of the keys under prefix: every
// acknowledged write is there with its value and revision, no write that
// was reported as not applied is there, and nothing else is.
func (l *writeLog) check(t *testing.T, who string, kvs []fsm.KV, value func(key string) string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]fsm.KV{}
	for _, kv := range kvs {
		seen[kv.Key] = kv
	}
	for key, res := range l.acked {
		kv, ok := seen[key]
		if !ok {
			t.Errorf("%s: acknowledged write %s (revision %d) is missing", who, key, res.Rev)
			continue
		}
		if string(kv.Value) != value(key) || kv.ModRev != res.Rev {
			t.Errorf("%s: %s = %q at %d, want %q at %d", who, key, kv.Value, kv.ModRev, value(key), res.Rev)
		}
	}
	for key := range seen {
		_, acked := l.acked[key]
		if err, failed := l.failed[key]; failed {
			t.Errorf("%s: %s is present although its write failed with %v", who, key, err)
		} else if !acked && !l.unknown[key] {
			t.Errorf("%s: unexpected key %s", who, key)
		}
	}
}

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

	log := newWriteLog()
	value := func(key string) string { return "value of " + key }
	var (
		wg        sync.WaitGroup
		stop      = make(chan struct{})
		mu        sync.Mutex
		ackCounts [writers]int // acknowledged writes per writer in the current phase
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxAttempts; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Spread writes over the servers that are up, so that
				// most go through a follower's forwarder.
				running := c.Running()
				s := c.Server(running[(w+i)%len(running)])
				if s == nil {
					continue // killed since Running
				}
				key := fmt.Sprintf("%sw%d-%04d", prefix, w, i)
				res, err := propose(ctx, s.Node(), &fsm.Command{Op: fsm.OpCreate, Key: key, Value: []byte(value(key))})
				log.record(key, res, err)
				if err == nil {
					mu.Lock()
					ackCounts[w]++
					mu.Unlock()
				}
			}
		}()
	}
	stopWriters := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopWriters()
	// waitPhase waits until every writer has had acksPerPhase writes
	// acknowledged since the phase began.
	waitPhase := func(what string) {
		t.Helper()
		err := testcluster.WaitFor(ctx, func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, n := range ackCounts {
				if n < acksPerPhase {
					return false
				}
			}
			return true
		})
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("writers stalled %s: acknowledged %v: %v", what, ackCounts, err)
		}
		mu.Lock()
		ackCounts = [writers]int{}
		mu.Unlock()
	}

	waitPhase("before the kill")
	c.KillServer(oldLeader)
	newLeader, err := c.Leader(ctx)
	if err != nil {
		t.Fatalf("no new leader after killing server %d: %v", oldLeader, err)
	}
	if newLeader == oldLeader {
		t.Fatalf("killed leader %d is leader again", oldLeader)
	}
	waitPhase("after the kill")
	stopWriters()
	t.Logf("writes: %d acknowledged, %d unknown, %d failed", len(log.acked), len(log.unknown), len(log.failed))

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
	for i := 0; i < c.N(); i++ {
		n := node(t, c, i)
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := n.Linearize(lctx)
		cancel()
		if err != nil {
			t.Fatalf("server %d: linearize after restart: %v", i, err)
		}
		kvs, _, _ := n.Store().List(prefix, "", 0)
		log.check(t, fmt.Sprintf("server %d after restart", i), kvs, value)
	}
	requireConverged(t, ctx, c)
}
