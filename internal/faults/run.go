package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skiffhq/skiff/internal/lincheck"
	"github.com/skiffhq/skiff/testcluster/proc"
)

// Shape of one run.
const (
	clients    = 8
	keysPerRun = 24
	maxOpsEach = 20000
	before     = 1500 * time.Millisecond // load before the fault
	after      = 2 * time.Second         // load after healing
	// checkTimeout bounds porcupine; a check that does not finish fails.
	checkTimeout = 60 * time.Second
	// recoverTimeout bounds every wait after healing: readiness, the
	// final write, convergence and watches catching up.
	recoverTimeout = 30 * time.Second
)

// harness runs fault runs against one cluster.
type harness struct {
	c   *proc.Cluster
	api *api
	// artifacts is where failing runs leave their history view and logs.
	artifacts string
}

func newHarness(c *proc.Cluster, artifacts string) (*harness, error) {
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	return &harness{c: c, api: &api{http: hc, token: c.AdminToken(), url: c.URL}, artifacts: artifacts}, nil
}

// report is what one run measured and found.
type report struct {
	Run            int
	Fault          string
	Target         string
	Ops, Unknown   int64
	Skipped        int64
	OpsPerSecond   float64 // before the fault
	CheckTime      time.Duration
	Result         porcupine.CheckResult
	Events         int
	WatchResumes   int
	Gones          int
	Violations     []string
	VisualizedPath string
}

func (r report) String() string {
	return fmt.Sprintf("run %d %s on %s: %d ops (%d unknown, %d no-effect), %.0f ops/s before the fault, check %s in %v, %d events, %d watch resumes, %d 410s, %d violations",
		r.Run, r.Fault, r.Target, r.Ops, r.Unknown, r.Skipped, r.OpsPerSecond, r.Result, r.CheckTime.Round(time.Millisecond), r.Events, r.WatchResumes, r.Gones, len(r.Violations))
}

// run performs run n with fault f: load, fault, heal, more load, then the
// checks. An error means the run could not be carried out (the cluster
// did not recover); violations are in the report.
func (h *harness) run(ctx context.Context, n int, f fault, seed uint64, staleGets bool) (report, error) {
	rep := report{Run: n, Fault: f.name}
	c := h.c
	if err := c.WaitReady(ctx, c.All()...); err != nil {
		return rep, err
	}
	runID := fmt.Sprintf("r%d", n)
	start, err := h.listRevision(ctx, runID)
	if err != nil {
		return rep, err
	}

	wctx, stopWatch := context.WithCancel(ctx)
	var watchers []*watcher
	var wwg sync.WaitGroup
	// On every return, also an early one: stop the watchers, then wait.
	defer func() { stopWatch(); wwg.Wait() }()
	for i := range c.N() {
		w := newWatcher(h.api, runID, c.N(), start)
		watchers = append(watchers, w)
		wwg.Add(1)
		go func() { defer wwg.Done(); w.loop(wctx, i) }()
	}

	keys := make([]string, keysPerRun)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s-k%02d", runID, i)
	}
	wl := &workload{api: h.api, run: runID, keys: keys, servers: c.N(), hist: lincheck.NewHistory(), maxOps: maxOpsEach, staleGets: staleGets}
	lctx, stopLoad := context.WithTimeout(ctx, before+f.hold+after)
	defer stopLoad()
	loadStart := time.Now()
	cwg := wl.start(lctx, clients, seed)

	if err := wait(ctx, before); err != nil {
		return rep, err
	}
	rep.OpsPerSecond = float64(wl.done.Load()) / time.Since(loadStart).Seconds()
	target, err := pickTarget(ctx, c, f, n)
	if err != nil {
		return rep, err
	}
	rep.Target = proc.Name(target)
	if f.name == "delay-all" {
		rep.Target = "all"
	}
	if err := f.inject(c, target); err != nil {
		return rep, fmt.Errorf("inject %s: %w", f.name, err)
	}
	holdErr := wait(ctx, f.hold)
	if err := f.heal(c, target); err != nil {
		return rep, fmt.Errorf("heal %s: %w", f.name, err)
	}
	if holdErr != nil {
		return rep, holdErr
	}
	cwg.Wait()
	rep.Ops, rep.Unknown, rep.Skipped = wl.done.Load(), wl.unknown.Load(), wl.skipped.Load()

	rctx, cancel := context.WithTimeout(ctx, recoverTimeout)
	defer cancel()
	if err := c.WaitReady(rctx, c.All()...); err != nil {
		return rep, fmt.Errorf("after healing: %w", err)
	}
	final, endOp, err := h.finalWrite(rctx, runID)
	if err != nil {
		return rep, fmt.Errorf("after healing no write succeeded: %w", err)
	}
	if _, err := c.WaitConverged(rctx); err != nil {
		rep.Violations = append(rep.Violations, err.Error())
	}
	var streams [][]event
	var gones []gone
	for i, w := range watchers {
		if err := w.waitFor(rctx, final); err != nil {
			_, _, _, notes := w.snapshot()
			rep.Violations = append(rep.Violations, fmt.Sprintf("watcher %d: %v (stream errors: %s)", i, err, strings.Join(notes, "; ")))
		}
		evs, g, resumes, _ := w.snapshot()
		streams = append(streams, evs)
		gones = append(gones, g...)
		rep.WatchResumes += resumes
	}
	stopWatch()
	rep.Events = len(streams[0])
	rep.Gones = len(gones)

	ops := wl.hist.Operations()
	checkStart := time.Now()
	v := lincheck.Check(ops, checkTimeout)
	rep.CheckTime, rep.Result = time.Since(checkStart), v.Result
	switch v.Result {
	case porcupine.Illegal:
		rep.Violations = append(rep.Violations, "history is not linearizable")
	case porcupine.Unknown:
		rep.Violations = append(rep.Violations, fmt.Sprintf("linearizability check did not finish in %v", checkTimeout))
	}
	rep.Violations = append(rep.Violations, checkWatches(append(ops, endOp), streams, final)...)
	rep.Violations = append(rep.Violations, checkGones(gones)...)
	if len(rep.Violations) > 0 {
		rep.VisualizedPath = h.keep(n, v)
	}
	return rep, nil
}

// wait waits d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// listRevision lists the run's (still absent) objects and returns the
// list's revision, from which the watchers start.
func (h *harness) listRevision(ctx context.Context, runID string) (uint64, error) {
	q := url.Values{"labelSelector": {"run=" + runID}}
	var last error
	for i := range h.c.N() {
		code, body, err := h.c.Do(ctx, i, http.MethodGet, configMaps+"?"+q.Encode(), nil)
		if err != nil || code != http.StatusOK {
			last = fmt.Errorf("list on %s: %d %v %.200s", proc.Name(i), code, err, body)
			continue
		}
		var l object
		if err := json.Unmarshal(body, &l); err != nil {
			return 0, err
		}
		return l.rev(), nil
	}
	return 0, last
}

// finalWrite creates the run's end marker, trying each server in turn
// until one write succeeds, and returns its revision and the operation,
// which the watch checks must know of.
func (h *harness) finalWrite(ctx context.Context, runID string) (uint64, porcupine.Operation, error) {
	in := lincheck.Input{Kind: lincheck.Create, Key: runID + "-end", Value: runID + "-end"}
	var last outcome
	for i := 0; ctx.Err() == nil; i++ {
		out, _, o := h.api.call(ctx, i%h.c.N(), runID, in, 0, false)
		if out.Result == lincheck.OK {
			return out.Rev, porcupine.Operation{Input: in, Output: out}, nil
		}
		if out.Result == lincheck.Exists {
			return 0, porcupine.Operation{}, errors.New("the end marker existed before it was written")
		}
		last = o
		if err := wait(ctx, 100*time.Millisecond); err != nil {
			break
		}
	}
	return 0, porcupine.Operation{}, fmt.Errorf("%w (last answer %d %v %s)", ctx.Err(), last.code, last.err, last.obj.Message)
}

// keep writes a failing run's history view and server logs to the
// artifacts directory and returns the view's path.
func (h *harness) keep(n int, v lincheck.Verdict) string {
	dir := filepath.Join(h.artifacts, fmt.Sprintf("run%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	path := filepath.Join(dir, "history.html")
	if err := v.WriteVisualization(path); err != nil {
		path = ""
	}
	for i := range h.c.N() {
		if b, err := os.ReadFile(h.c.LogPath(i)); err == nil {
			os.WriteFile(filepath.Join(dir, proc.Name(i)+".log"), b, 0o644)
		}
	}
	return path
}
