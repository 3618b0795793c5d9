package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/crashpoint"
	"github.com/skiffhq/skiff/internal/lincheck"
	"github.com/skiffhq/skiff/testcluster"
	"github.com/skiffhq/skiff/testcluster/proc"
)

// crashCase is one crash point hit on one server.
type crashCase struct {
	point  string
	n      int  // the hit that kills
	leader bool // crash the leader (else a follower)
	// prep is how the target gets to the point: "" under write load,
	// "snapshot" by restarting a server that holds a snapshot (the
	// startup restore), "partition" by cutting a follower off until the
	// leader has compacted its log past it (a snapshot install).
	prep string
}

var crashCases = []crashCase{
	{point: crashpoint.AfterLogAppend, n: 100, leader: true},
	{point: crashpoint.AfterLogAppend, n: 100},
	{point: crashpoint.AfterApply, n: 100, leader: true},
	{point: crashpoint.AfterApply, n: 100},
	{point: crashpoint.SnapshotPersist, n: 1, leader: true},
	{point: crashpoint.SnapshotPersist, n: 1},
	{point: crashpoint.SnapshotRestore, n: 1, prep: "snapshot"},
	{point: crashpoint.SnapshotInstall, n: 1, prep: "partition"},
}

func (cc crashCase) String() string {
	role := "follower"
	if cc.leader {
		role = "leader"
	}
	return cc.point + "/" + role
}

// creators create uniquely named objects and remember each acknowledged
// one with its revision.
type creators struct {
	api *api
	run string
	// servers are the servers the creators write through.
	servers []int

	mu     sync.Mutex
	acked  map[string]uint64
	maxRev uint64
}

func (w *creators) start(ctx context.Context, n int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for id := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(id), 7))
			for seq := 0; seq < maxOpsEach && ctx.Err() == nil; seq++ {
				name := fmt.Sprintf("%s-w%d-%d", w.run, id, seq)
				in := lincheck.Input{Kind: lincheck.Create, Key: name, Value: name}
				out, _, _ := w.api.call(ctx, w.servers[r.IntN(len(w.servers))], w.run, in, 0, false)
				if out.Result == lincheck.OK {
					w.mu.Lock()
					w.acked[name] = out.Rev
					w.maxRev = max(w.maxRev, out.Rev)
					w.mu.Unlock()
				}
			}
		}()
	}
	return &wg
}

// revTracker remembers the highest revision a server reported while it ran.
type revTracker struct {
	mu  sync.Mutex
	max uint64
}

func (rt *revTracker) follow(ctx context.Context, c *proc.Cluster, i int) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		h, err := c.Hash(hctx, i)
		cancel()
		if err == nil {
			rt.mu.Lock()
			rt.max = max(rt.max, h.Revision)
			rt.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (rt *revTracker) get() uint64 {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.max
}

// lastSnapshotIndex returns the Raft index of the newest finished snapshot
// in server i's data directory (hashicorp/raft names them
// term-index-milliseconds), or 0 if it holds none.
func lastSnapshotIndex(c *proc.Cluster, i int) uint64 {
	entries, _ := os.ReadDir(filepath.Join(c.DataDir(i), "snapshots"))
	var last uint64
	for _, e := range entries {
		var term, index, ms uint64
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), "%d-%d-%d", &term, &index, &ms); err == nil {
			last = max(last, index)
		}
	}
	return last
}

// TestCrashPoints kills a server with SIGKILL right after a log append,
// right after an apply, in the middle of writing a snapshot, of restoring
// one at start and of installing one from the leader, each on the leader
// and on a follower where that applies, and checks that no acknowledged
// write is lost and that the server's revision never goes backwards.
func TestCrashPoints(t *testing.T) {
	proc.SkipUnlessSupported(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := proc.Build(t.TempDir(), "crashpoints")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	c, err := proc.Start(sctx, proc.Options{
		Binary: bin,
		Dir:    t.TempDir(),
		// Frequent snapshots and a short log, so that snapshots are
		// written within a second of load and a follower cut off for a
		// few seconds can only catch up by snapshot.
		Raft: map[string]string{"snapshot_threshold": "256", "trailing_logs": "128", "snapshot_interval": "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := newHarness(c, artifactsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, cc := range crashCases {
		t.Run(cc.String(), func(t *testing.T) {
			if err := h.crash(ctx, t, i, cc); err != nil {
				for s := range c.N() {
					t.Logf("%s log tail:\n%s", proc.Name(s), c.LogTail(s, 25))
				}
				t.Fatal(err)
			}
		})
	}
}

// crash runs one case; t receives the violations, the error says the case
// could not be carried out.
func (h *harness) crash(ctx context.Context, t *testing.T, idx int, cc crashCase) error {
	c := h.c
	if err := c.WaitReady(ctx, c.All()...); err != nil {
		return err
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	target := leader
	if !cc.leader {
		target = (leader + 1) % c.N()
	}
	run := fmt.Sprintf("crash%d", idx)
	w := &creators{api: h.api, run: run, servers: c.All(), acked: map[string]uint64{}}
	ackedMore := func(n int) func() bool {
		return func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.acked) >= n }
	}
	arm := fmt.Sprintf("SKIFF_CRASHPOINT=%s:%d", cc.point, cc.n)
	var rt revTracker
	tctx, stopTrack := context.WithCancel(ctx)
	defer stopTrack()
	go rt.follow(tctx, c, target)
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var load *sync.WaitGroup

	switch cc.prep {
	case "snapshot":
		load = w.start(lctx, 4)
		// More writes than a snapshot threshold, so that the snapshot
		// restored at start holds some of this case's writes.
		if err := waitUntil(ctx, 30*time.Second, ackedMore(400)); err != nil {
			return fmt.Errorf("writes before the snapshot: %w", err)
		}
		if err := waitUntil(ctx, 20*time.Second, func() bool { return lastSnapshotIndex(c, target) > 0 }); err != nil {
			return fmt.Errorf("%s wrote no snapshot: %w", proc.Name(target), err)
		}
		stopLoad()
		load.Wait()
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		h, err := c.Hash(hctx, target)
		hcancel()
		if err != nil {
			return err
		}
		rt.mu.Lock()
		rt.max = max(rt.max, h.Revision)
		rt.mu.Unlock()
		c.Kill(target)
		if err := c.StartServer(target, arm); err != nil {
			return err
		}
	case "partition":
		c.Kill(target)
		if err := c.StartServer(target, arm); err != nil {
			return err
		}
		if err := c.WaitReady(ctx, target); err != nil {
			return err
		}
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		cut, err := c.Hash(hctx, target)
		hcancel()
		if err != nil {
			return err
		}
		c.Partition(target)
		// Through the others only: requests to the cut-off server would
		// only time out.
		w.servers = slices.DeleteFunc(c.All(), func(i int) bool { return i == target })
		load = w.start(lctx, 4)
		// Write until the leader has snapshotted and dropped (beyond the
		// 128 trailing entries it keeps) every entry the target lacks.
		compacted := func() bool { return lastSnapshotIndex(c, leader) > cut.Revision+128+64 }
		if err := waitUntil(ctx, 30*time.Second, compacted); err != nil {
			return fmt.Errorf("leader's snapshot index %d while %s was cut off at %d: %w", lastSnapshotIndex(c, leader), proc.Name(target), cut.Revision, err)
		}
		c.Heal()
	default:
		c.Kill(target)
		if err := c.StartServer(target, arm); err != nil {
			return err
		}
		if err := c.WaitReady(ctx, target); err != nil {
			return err
		}
		if cc.leader {
			if err := c.TransferLeadership(ctx, target); err != nil {
				return err
			}
		}
		load = w.start(lctx, 4)
	}

	exited := c.Exited(target)
	if exited != nil {
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("%s never reached %s hit %d", proc.Name(target), cc.point, cc.n)
		}
	}
	if !strings.Contains(c.LogTail(target, 200), "crashpoint "+cc.point+": hit") {
		return fmt.Errorf("%s exited, but not at %s:\n%s", proc.Name(target), cc.point, c.LogTail(target, 20))
	}
	before := rt.get()
	stopTrack()
	// Writes go on while the server is down, then it comes back clean.
	if err := wait(ctx, time.Second); err != nil {
		return err
	}
	if err := c.StartServer(target); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, recoverTimeout)
	defer cancel()
	if err := c.WaitReady(rctx, c.All()...); err != nil {
		return fmt.Errorf("after the crash: %w", err)
	}
	stopLoad()
	load.Wait()

	after, err := c.Hash(rctx, target)
	if err != nil {
		return err
	}
	if after.Revision < before {
		t.Errorf("%s's revision went back from %d to %d across the crash", proc.Name(target), before, after.Revision)
	}
	if _, err := c.WaitConverged(rctx); err != nil {
		t.Error(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range c.N() {
		names, rev, err := h.listNames(rctx, i, run)
		if err != nil {
			return err
		}
		if rev < w.maxRev {
			t.Errorf("%s lists at revision %d, before the last acknowledged write (%d)", proc.Name(i), rev, w.maxRev)
		}
		lost := 0
		for name := range w.acked {
			if !names[name] {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s lacks %d of %d acknowledged writes", proc.Name(i), lost, len(w.acked))
		}
	}
	t.Logf("%s crashed at %s hit %d with revision %d, back at %d; %d acknowledged writes, all present", proc.Name(target), cc.point, cc.n, before, after.Revision, len(w.acked))
	return nil
}

// waitUntil polls cond for up to d.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return testcluster.WaitFor(ctx, cond)
}

// listNames lists the run's objects on server i (a linearizable list) and
// returns their names and the list's revision.
func (h *harness) listNames(ctx context.Context, i int, run string) (map[string]bool, uint64, error) {
	q := url.Values{"labelSelector": {"run=" + run}}
	code, body, err := h.c.Do(ctx, i, http.MethodGet, configMaps+"?"+q.Encode(), nil)
	if err != nil || code != http.StatusOK {
		return nil, 0, fmt.Errorf("list on %s: %d %v %.200s", proc.Name(i), code, err, body)
	}
	var l struct {
		object
		Items []object `json:"items"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, 0, err
	}
	names := map[string]bool{}
	for _, it := range l.Items {
		names[it.Metadata.Name] = true
	}
	return names, l.rev(), nil
}
