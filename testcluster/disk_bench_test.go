package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/testcluster"
)

// BenchmarkDiskBurst checks what a write burst and the snapshot it causes
// leave behind, on three servers with the default Raft tuning: a paced
// writer at R writes per second (SKIFF_BURST_RATE, default 1,000; 256-byte
// values over 10,000 keys, spread over the servers, at most 64 in flight)
// for 15 s, then at 3R until the leader has taken a snapshot by itself
// and compacted its log (at least 10 s, at most 90 s), then a snapshot
// forced on every server, then R again for 15 s. It reports the p50 and p99
// of each phase and the ratio of the p99 after the snapshot to the
// baseline's (the target is at most 2). "burst=1x" is the control: the
// same phases with the middle one at R, so that the ratio it reports is
// what the machine's drift alone does over the same minute. The scenario
// runs once whatever b.N is: run it with -benchtime=1x.
func BenchmarkDiskBurst(b *testing.B) {
	for _, factor := range []float64{3, 1} {
		b.Run(fmt.Sprintf("burst=%.0fx", factor), func(b *testing.B) { benchDiskBurst(b, factor) })
	}
}

func benchDiskBurst(b *testing.B, factor float64) {
	rate := 1000.0
	if v, err := strconv.ParseFloat(os.Getenv("SKIFF_BURST_RATE"), 64); err == nil && v > 0 {
		rate = v
	}
	const (
		phase    = 15 * time.Second
		minBurst = 10 * time.Second
		maxBurst = 90 * time.Second
	)
	timer := newSnapshotTimer()
	c := testcluster.Start(b, testcluster.Options{Logger: slog.New(timer)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var nodes []*raftstore.Replica
	for i := range c.N() {
		nodes = append(nodes, c.Server(i).Replica())
	}
	ln := nodes[leader]
	termBefore := ln.Raft().Stats()["term"]
	p := &pacer{nodes: nodes, inFlight: 64}
	b.ResetTimer()

	base := p.run(ctx, rate, int(rate*phase.Seconds()), forDuration(phase))
	benchf("baseline at %.0f/s: %v", rate, base)
	before := mustDiskUsage(b, ln)
	var lastCheck time.Duration
	burst := p.run(ctx, factor*rate, int(factor*rate*maxBurst.Seconds()), func(el time.Duration) bool {
		if el >= maxBurst {
			return true
		}
		if el < minBurst || el-lastCheck < 250*time.Millisecond {
			return false
		}
		lastCheck = el
		u, err := ln.DiskUsage()
		return err == nil && u.SnapshotIndex > before.SnapshotIndex && u.FirstIndex > before.FirstIndex
	})
	benchf("burst at %.0f/s: %v", factor*rate, burst)
	afterBurst := mustDiskUsage(b, ln)
	benchf("leader disk before burst: %s", diskString(before))
	benchf("leader disk after burst:  %s", diskString(afterBurst))
	if afterBurst.SnapshotIndex == before.SnapshotIndex {
		benchf("NO SNAPSHOT DURING THE BURST (%.0fs)", burst.elapsed.Seconds())
	}

	// Let the followers apply what the burst left them, then snapshot
	// every server; the leader's time is the figure reported.
	for _, n := range nodes {
		if err := n.Linearize(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var leaderSnap time.Duration
	for i, n := range nodes {
		t := time.Now()
		err := n.Snapshot()
		took := time.Since(t)
		if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
			b.Fatalf("server %d: %v", i, err)
		}
		if i == leader {
			leaderSnap = took
		}
		benchf("forced snapshot on server %d (leader %v): %v, %v", i, i == leader, took.Round(time.Millisecond), err)
	}
	benchf("leader disk after forced snapshot: %s", diskString(mustDiskUsage(b, ln)))

	after := p.run(ctx, rate, int(rate*phase.Seconds()), forDuration(phase))
	b.StopTimer()
	benchf("after snapshot at %.0f/s: %v", rate, after)
	for _, s := range timer.snapshots() {
		benchf("snapshot %v", s)
	}
	ratio := after.quantile(0.99) / base.quantile(0.99)
	b.ReportMetric(base.quantile(0.5), "base-p50-ms")
	b.ReportMetric(base.quantile(0.99), "base-p99-ms")
	b.ReportMetric(burst.rate(), "burst-writes/s")
	b.ReportMetric(burst.quantile(0.99), "burst-p99-ms")
	b.ReportMetric(after.quantile(0.5), "after-p50-ms")
	b.ReportMetric(after.quantile(0.99), "after-p99-ms")
	b.ReportMetric(ratio, "after/base-p99")
	b.ReportMetric(float64(leaderSnap.Milliseconds()), "snapshot-ms")
	benchf("burst: factor=%.0f rate=%.0f base_p50=%.2fms base_p99=%.2fms burst_rate=%.0f/s burst_p99=%.2fms after_p50=%.2fms after_p99=%.2fms ratio=%.2f snapshot=%dms",
		factor, rate, base.quantile(0.5), base.quantile(0.99), burst.rate(), burst.quantile(0.99), after.quantile(0.5), after.quantile(0.99), ratio, leaderSnap.Milliseconds())
	if termAfter := ln.Raft().Stats()["term"]; termAfter != termBefore {
		benchf("ELECTION UNDER LOAD: term %s -> %s", termBefore, termAfter)
	}
}

func mustDiskUsage(b *testing.B, n *raftstore.Replica) raftstore.DiskUsage {
	b.Helper()
	u, err := n.DiskUsage()
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// diskString formats u in MiB.
func diskString(u raftstore.DiskUsage) string {
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	return fmt.Sprintf("raft.db=%.1fMiB free=%.1fMiB log=[%d,%d] (%d entries) snapshot=%.1fMiB@%d (%d kept)",
		mib(u.LogFileBytes), mib(u.LogFreeBytes), u.FirstIndex, u.LastIndex, u.Entries(), mib(u.SnapshotBytes), u.SnapshotIndex, u.Snapshots)
}

// snapshotTimer is a slog.Handler that times the snapshots Raft takes by
// itself, from its "starting snapshot" record to its "snapshot complete"
// one, with the log compaction that comes between. It drops everything
// else.
type snapshotTimer struct {
	server string
	s      *snapshotLog
}

type snapshotLog struct {
	mu      sync.Mutex
	started map[string]time.Time // by server
	compact map[string]time.Time
	done    []snapshotTiming
}

// snapshotTiming is one snapshot: Persist writes the state, Compact
// deletes old log entries from raft.db.
type snapshotTiming struct {
	Server           string
	At               time.Time
	Persist, Compact time.Duration
}

func (s snapshotTiming) String() string {
	return fmt.Sprintf("server=%s at=%s persist=%v compact=%v", s.Server, s.At.Format("15:04:05.000"), s.Persist.Round(time.Millisecond), s.Compact.Round(time.Millisecond))
}

func newSnapshotTimer() *snapshotTimer {
	return &snapshotTimer{s: &snapshotLog{started: map[string]time.Time{}, compact: map[string]time.Time{}}}
}

func (h *snapshotTimer) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *snapshotTimer) WithGroup(string) slog.Handler                { return h }

func (h *snapshotTimer) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := *h
	for _, a := range attrs {
		if a.Key == "server" {
			out.server = a.Value.String()
		}
	}
	return &out
}

func (h *snapshotTimer) Handle(_ context.Context, r slog.Record) error {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Message {
	case "starting snapshot up to":
		s.started[h.server] = r.Time
		delete(s.compact, h.server)
	case "compacting logs", "no logs to truncate":
		s.compact[h.server] = r.Time
	case "snapshot complete up to":
		start, ok := s.started[h.server]
		if !ok {
			return nil
		}
		mid, ok := s.compact[h.server]
		if !ok {
			mid = r.Time
		}
		s.done = append(s.done, snapshotTiming{Server: h.server, At: start, Persist: mid.Sub(start), Compact: r.Time.Sub(mid)})
	}
	return nil
}

func (h *snapshotTimer) snapshots() []snapshotTiming {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return append([]snapshotTiming(nil), h.s.done...)
}

// BenchmarkRaftDBGrowth measures raft.db and the snapshots against the
// number of writes, on three servers with the default Raft tuning: 64
// writers put 256-byte values over 10,000 keys as fast as the cluster
// takes them, and at 10k, 50k, 100k and 200k writes the benchmark prints
// every server's raft.db size, the free space bbolt keeps in it, the log
// entries it holds and the newest snapshot's size, then forces a snapshot
// on every server (which compacts the log to raft.trailing_logs entries)
// and prints them again. A last 50k writes show the freed pages being
// reused. Run it with -benchtime=1x.
func BenchmarkRaftDBGrowth(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := c.Leader(ctx); err != nil {
		b.Fatal(err)
	}
	var nodes []*raftstore.Replica
	for i := range c.N() {
		nodes = append(nodes, c.Server(i).Replica())
	}
	cmd, err := fsm.Encode(&fsm.Command{Op: fsm.OpPut, Key: fmt.Sprintf("/registry/pods/default/p%05d", 0), Value: diskValue})
	if err != nil {
		b.Fatal(err)
	}
	benchf("command %d bytes; raft.trailing_logs=%d raft.snapshot_threshold=%d", len(cmd), c.Config(0).Raft.TrailingLogs, c.Config(0).Raft.SnapshotThreshold)
	var seq atomic.Int64
	var highWater int64
	b.ResetTimer()
	for _, n := range []int64{10000, 50000, 100000, 200000, 250000} {
		start, from := time.Now(), seq.Load()
		failed := writeUpTo(ctx, nodes, &seq, n)
		if ctx.Err() != nil {
			b.Fatal(ctx.Err())
		}
		benchf("%d writes (%.0f/s, %d failed)", n, float64(n-from)/time.Since(start).Seconds(), failed)
		for _, nd := range nodes {
			if err := nd.Linearize(ctx); err != nil {
				b.Fatal(err)
			}
		}
		logDiskUsage(b, nodes, fmt.Sprintf("%dk writes", n/1000))
		for i, nd := range nodes {
			if err := nd.Snapshot(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
				b.Fatalf("server %d: %v", i, err)
			}
		}
		for _, u := range logDiskUsage(b, nodes, fmt.Sprintf("%dk writes, snapshot forced", n/1000)) {
			highWater = max(highWater, u.LogFileBytes)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(highWater)/(1<<20), "raft.db-MiB")
	// Look inside a stopped follower's file: how much of it the log's
	// pages fill and how much is free.
	leader, err := c.Leader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	f := (leader + 1) % c.N()
	if err := c.StopServer(f); err != nil {
		b.Fatal(err)
	}
	if err := inspectBolt(filepath.Join(c.Config(f).DataDir, "raft.db")); err != nil {
		b.Fatal(err)
	}
}

// inspectBolt prints what a raft.db holds: bbolt's high-water mark and
// free pages, and the pages of the log bucket.
func inspectBolt(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st := db.Stats()
	return db.View(func(tx *bbolt.Tx) error {
		logs := tx.Bucket([]byte("logs"))
		if logs == nil {
			return fmt.Errorf("%s has no logs bucket", path)
		}
		bs := logs.Stats()
		mib := func(n int64) float64 { return float64(n) / (1 << 20) }
		page := int64(db.Info().PageSize)
		benchf("bbolt %s: file=%.1fMiB high-water=%.1fMiB free_pages=%d (%.1fMiB) page=%dB",
			filepath.Base(filepath.Dir(path)), mib(fi.Size()), mib(tx.Size()), st.FreePageN, mib(int64(st.FreePageN)*page), page)
		benchf("bbolt logs bucket: entries=%d leaf_pages=%d (+%d overflow) leaf=%.1fMiB used=%.1fMiB (%.0f%% full, %.0f B/entry) branch_pages=%d depth=%d",
			bs.KeyN, bs.LeafPageN, bs.LeafOverflowN, mib(int64(bs.LeafAlloc)), mib(int64(bs.LeafInuse)), 100*float64(bs.LeafInuse)/float64(max(bs.LeafAlloc, 1)),
			float64(bs.LeafInuse)/float64(max(bs.KeyN, 1)), bs.BranchPageN, bs.Depth)
		return nil
	})
}

// benchf prints one line of a benchmark's figures on stdout: b.Logf keeps
// only the first ten lines of a benchmark's output.
func benchf(format string, args ...any) {
	fmt.Printf("disk: "+format+"\n", args...)
}

// writeUpTo makes writes from 64 goroutines, spread over nodes, until seq
// reaches n, and returns how many failed. A failed write is not retried:
// what the benchmark measures is the log, which the failure (a leader
// change under load) does not stop from growing.
func writeUpTo(ctx context.Context, nodes []*raftstore.Replica, seq *atomic.Int64, n int64) int64 {
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := seq.Add(1) - 1
				if i >= n {
					seq.Add(-1)
					return
				}
				if diskWrite(ctx, nodes[i%int64(len(nodes))], i) != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// logDiskUsage logs every node's disk usage under label and returns it.
func logDiskUsage(b *testing.B, nodes []*raftstore.Replica, label string) []raftstore.DiskUsage {
	b.Helper()
	var out []raftstore.DiskUsage
	for i, n := range nodes {
		u := mustDiskUsage(b, n)
		out = append(out, u)
		inUse := u.LogFileBytes - u.LogFreeBytes
		per := 0.0
		if e := u.Entries(); e > 0 {
			per = float64(inUse) / float64(e)
		}
		benchf("%s: server %d: %s in-use=%.1fMiB (%.0f B/entry)", label, i, diskString(u), float64(inUse)/(1<<20), per)
	}
	return out
}
