package faults

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skiffhq/skiff/testcluster/proc"
)

// envInt reads a positive integer from the environment, or def.
func envInt(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// binary builds the skiff binary once for the package's tests.
func binary(t *testing.T) string {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "skiff-faults-bin-")
		if buildErr == nil {
			binPath, buildErr = proc.Build(binDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// artifactsDir is where failing runs leave what explains them: the
// SKIFF_FAULT_ARTIFACTS directory, or a temporary one kept only if
// something failed.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("SKIFF_FAULT_ARTIFACTS"); d != "" {
		return d
	}
	d, err := os.MkdirTemp("", "skiff-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(d)
		} else {
			t.Logf("artifacts of the failing runs: %s", d)
		}
	})
	return d
}

// TestLinearizability runs SKIFF_FAULT_RUNS runs (default 4) of 8 clients
// doing get, create, update, compare-and-swap and delete through the API
// of a three-server cluster, each run with one fault, and checks every
// history with porcupine and every watch against it. SKIFF_FAULT_SEED
// repeats an earlier order of faults and operations.
func TestLinearizability(t *testing.T) {
	proc.SkipUnlessSupported(t)
	runs := int(envInt(t, "SKIFF_FAULT_RUNS", 4))
	seed := envInt(t, "SKIFF_FAULT_SEED", uint64(time.Now().UnixNano()))
	t.Logf("SKIFF_FAULT_SEED=%d SKIFF_FAULT_RUNS=%d", seed, runs)

	ctx, c, h := startCluster(t)

	order := slices.Clone(faults)
	rand.New(rand.NewPCG(seed, 0)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var rates []float64
	violations := 0
	byFault := map[string]int{}
	for n := range runs {
		f := order[n%len(order)]
		rep, err := h.run(ctx, n, f, seed+uint64(n), false)
		if err != nil {
			for i := range c.N() {
				t.Logf("%s log tail:\n%s", proc.Name(i), c.LogTail(i, 30))
			}
			t.Fatalf("run %d (%s): %v", n, f.name, err)
		}
		t.Log(rep)
		rates = append(rates, rep.OpsPerSecond)
		byFault[f.name]++
		if len(rep.Violations) > 0 {
			violations++
			t.Errorf("run %d (%s on %s): %d violations (history view: %s):\n%s", n, f.name, rep.Target, len(rep.Violations), rep.VisualizedPath, joinLines(rep.Violations))
		}
	}
	slices.Sort(rates)
	t.Logf("summary: %d runs, %d with violations; ops/s before the fault: median %.0f, min %.0f, max %.0f; runs by fault: %v",
		runs, violations, rates[len(rates)/2], rates[0], rates[len(rates)-1], byFault)
}

// startCluster starts the three-server cluster the runs share, with a
// context that ends before the test's deadline.
func startCluster(t *testing.T) (context.Context, *proc.Cluster, *harness) {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := proc.Start(sctx, proc.Options{
		Binary: binary(t),
		Dir:    t.TempDir(),
		// Snapshots and log compaction every few runs, so that restarted
		// and cut-off servers also catch up by snapshot.
		Raft: map[string]string{"snapshot_threshold": "2048", "trailing_logs": "1024", "snapshot_interval": "5s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h, err := newHarness(c, artifactsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, c, h
}

// TestCheckerCatchesStaleReads shows that the runs can fail: with gets
// served from the local replica (resourceVersion=0), a leader cut off from
// its peers but not from clients answers with old values while the rest
// of the cluster moves on, and the checks must say so.
func TestCheckerCatchesStaleReads(t *testing.T) {
	proc.SkipUnlessSupported(t)
	ctx, _, h := startCluster(t)
	var f fault
	for _, x := range faults {
		if x.name == "partition-leader" {
			f = x
		}
	}
	const tries = 3
	for n := range tries {
		rep, err := h.run(ctx, n, f, uint64(n), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(rep)
		if rep.Result == porcupine.Illegal {
			return
		}
	}
	t.Fatalf("%d runs with stale reads on a partitioned leader passed the linearizability check", tries)
}

func joinLines(v []string) string {
	out := ""
	for _, s := range v {
		out += "  " + s + "\n"
	}
	return out
}
