package testcluster_test

import (
	"context"
	"fmt"
	"slices"
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

// counts returns how many writes were acknowledged, unknown and failed.
func (l *writeLog) counts() (acked, unknown, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked), len(l.unknown), len(l.failed)
}

// writeLoad is a set of writer goroutines that create keys under a prefix,
// each key once, spread over the cluster's servers so that most writes go
// through a follower's forwarder, and record every outcome in a writeLog.
// Each writer gives up after maxAttempts writes or when ctx ends. The test
// goroutine owns it: it may pause the writers to check the replicas, and
// stop ends them (at the latest when the test ends).
type writeLoad struct {
	c      *testcluster.Cluster
	prefix string
	log    *writeLog

	// gate is held shared by a writer for each write and exclusively while
	// the writers are paused.
	gate   sync.RWMutex
	stopCh chan struct{}
	wg     sync.WaitGroup
	stop   func()

	mu      sync.Mutex
	acks    []int // acknowledged writes per writer since the last waitAcks
	servers []int // the servers to write through; nil means every running one
}

// startWriteLoad starts writers goroutines that write under prefix until
// stopped, each at most maxAttempts times.
func startWriteLoad(t *testing.T, ctx context.Context, c *testcluster.Cluster, prefix string, writers, maxAttempts int) *writeLoad {
	l := &writeLoad{c: c, prefix: prefix, log: newWriteLog(), stopCh: make(chan struct{}), acks: make([]int, writers)}
	l.stop = sync.OnceFunc(func() {
		close(l.stopCh)
		l.wg.Wait()
	})
	t.Cleanup(l.stop)
	for w := range writers {
		l.wg.Add(1)
		go l.run(ctx, w, maxAttempts)
	}
	return l
}

// value is what the write of key stores.
func (l *writeLoad) value(key string) string { return "value of " + key }

func (l *writeLoad) run(ctx context.Context, w, maxAttempts int) {
	defer l.wg.Done()
	for i := 0; i < maxAttempts; i++ {
		select {
		case <-l.stopCh:
			return
		case <-ctx.Done():
			return
		default:
		}
		l.gate.RLock()
		l.write(ctx, w, i)
		l.gate.RUnlock()
	}
}

func (l *writeLoad) write(ctx context.Context, w, i int) {
	l.mu.Lock()
	servers := l.servers
	l.mu.Unlock()
	if servers == nil {
		servers = l.c.Running()
	}
	if len(servers) == 0 {
		return
	}
	s := l.c.Server(servers[(w+i)%len(servers)])
	if s == nil {
		return // stopped since
	}
	key := fmt.Sprintf("%sw%d-%05d", l.prefix, w, i)
	res, err := propose(ctx, s.Replica(), &fsm.Command{Op: fsm.OpCreate, Key: key, Value: []byte(l.value(key))})
	l.log.record(key, res, err)
	if err == nil {
		l.mu.Lock()
		l.acks[w]++
		l.mu.Unlock()
	}
}

// writeThrough makes the writers use only the servers idxs; with none,
// every running server.
func (l *writeLoad) writeThrough(idxs ...int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.servers = slices.Clone(idxs)
}

// waitAcks waits until every writer has had n writes acknowledged since
// the previous call.
func (l *writeLoad) waitAcks(t *testing.T, ctx context.Context, n int, what string) {
	t.Helper()
	err := testcluster.WaitFor(ctx, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return !slices.ContainsFunc(l.acks, func(a int) bool { return a < n })
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		t.Fatalf("writers stalled %s: acknowledged %v since the last phase: %v", what, l.acks, err)
	}
	clear(l.acks)
}

// requireDurable pauses the writers and checks every running server
// against the write log: after a linearizable barrier, each holds every
// acknowledged write and none that failed, and all of them converge to the
// same hash.
func (l *writeLoad) requireDurable(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	l.gate.Lock()
	defer l.gate.Unlock()
	for _, i := range l.c.Running() {
		n := node(t, l.c, i)
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := n.Linearize(lctx)
		cancel()
		if err != nil {
			t.Fatalf("server %d %s: linearize: %v", i, what, err)
		}
		kvs, _, _ := n.Store().List(l.prefix, "", 0)
		l.log.check(t, fmt.Sprintf("server %d %s", i, what), kvs, l.value)
	}
	requireConverged(t, ctx, l.c)
	acked, unknown, failed := l.log.counts()
	t.Logf("%s: %d writes acknowledged, %d unknown, %d failed", what, acked, unknown, failed)
}
