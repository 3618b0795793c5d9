package worker

import (
	"context"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNanoCores(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prev, cur cpuSample
		want      int64 // -1: no rate
	}{
		{"one core busy", cpuSample{t0, 1e9}, cpuSample{t0.Add(time.Second), 2e9}, 1e9},
		{"quarter core over two seconds", cpuSample{t0, 0}, cpuSample{t0.Add(2 * time.Second), 5e8}, 25e7},
		{"idle", cpuSample{t0, 7}, cpuSample{t0.Add(time.Second), 7}, 0},
		{"no time between", cpuSample{t0, 0}, cpuSample{t0, 5}, -1},
		{"counter went back", cpuSample{t0, 9}, cpuSample{t0.Add(time.Second), 5}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nanoCores(tc.prev, tc.cur)
			switch {
			case tc.want < 0 && got != nil:
				t.Errorf("rate %d, want none", *got)
			case tc.want >= 0 && (got == nil || int64(*got) != tc.want):
				t.Errorf("rate %v, want %d", got, tc.want)
			}
		})
	}
}

// fakeClock is the collector's clock and pause in unit tests: a pause
// only moves the clock.
type fakeClock struct {
	now    time.Time
	waited time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) wait(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	c.waited += d
	return nil
}

// counters is a node and containers whose CPU counters grow at fixed
// rates on the fake clock.
type counters struct {
	clk   *fakeClock
	rates map[string]uint64 // nanocores by container ID; "" is the node
}

func (c *counters) at(id string) uint64 {
	return uint64(float64(c.rates[id]) * c.clk.now.Sub(t0).Seconds())
}

func (c *counters) collector() *statsCollector {
	return &statsCollector{
		now:  c.clk.Now,
		wait: c.clk.wait,
		readNode: func() (nodeSample, error) {
			return nodeSample{cpu: cpuSample{c.clk.now, c.at("")}, memTotal: 8 << 30, memAvailable: 6 << 30}, nil
		},
		readContainers: func(context.Context) ([]ContainerUsage, error) {
			var out []ContainerUsage
			for id := range c.rates {
				if id != "" {
					out = append(out, ContainerUsage{ID: id, Time: c.clk.now, CPUNanos: c.at(id), MemoryUsageBytes: 3 << 20, MemoryWorkingSetBytes: 2 << 20})
				}
			}
			return out, nil
		},
	}
}

func TestCollectReusesARecentSample(t *testing.T) {
	clk := &fakeClock{now: t0}
	cn := &counters{clk: clk, rates: map[string]uint64{"": 15e8, "c1": 2e8}}
	sc := cn.collector()
	ctx := context.Background()

	prev, cur, err := sc.collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if clk.waited != minRateWindow {
		t.Fatalf("first collect waited %v, want one window (%v)", clk.waited, minRateWindow)
	}
	if r := nanoCores(prev.node.cpu, cur.node.cpu); r == nil || *r != 15e8 {
		t.Errorf("node rate %v, want 1.5 cores", r)
	}

	clk.now = clk.now.Add(5 * time.Second)
	if _, _, err := sc.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if clk.waited != minRateWindow {
		t.Errorf("a collect 5s after the last waited again (total %v)", clk.waited)
	}

	// A new container has no earlier sample: the collector takes two.
	cn.rates["c2"] = 1e8
	clk.now = clk.now.Add(5 * time.Second)
	prev, cur, err = sc.collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if clk.waited != 2*minRateWindow {
		t.Errorf("a new container did not make the collector sample twice (waited %v)", clk.waited)
	}
	c2p, c2 := prev.containers["c2"], cur.containers["c2"]
	if r := nanoCores(cpuSample{c2p.Time, c2p.CPUNanos}, cpuSample{c2.Time, c2.CPUNanos}); r == nil || *r != 1e8 {
		t.Errorf("c2 rate %v, want 0.1 core", r)
	}

	// Summaries back to back: the newer kept sample is too recent, the
	// older one serves.
	for range 3 {
		clk.now = clk.now.Add(100 * time.Millisecond)
		if _, _, err := sc.collect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if clk.waited != 2*minRateWindow {
		t.Errorf("summaries back to back waited (total %v)", clk.waited)
	}

	// A sample older than maxRateWindow is too stale to average over.
	clk.now = clk.now.Add(maxRateWindow + time.Second)
	if _, _, err := sc.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if clk.waited != 3*minRateWindow {
		t.Errorf("a stale sample was reused (waited %v)", clk.waited)
	}
}

func TestBuildSummary(t *testing.T) {
	clk := &fakeClock{now: t0}
	cn := &counters{clk: clk, rates: map[string]uint64{"": 2e9, "a1": 3e8, "a2": 1e8, "b1": 5e7}}
	prev, cur, err := cn.collector().collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pods := podsOfContainers([]ContainerStatus{
		{ID: "b1", PodUID: "ub", PodName: "b", Namespace: "default", Name: "app", State: StateRunning, StartedAt: t0},
		{ID: "a2", PodUID: "ua", PodName: "a", Namespace: "default", Name: "side", State: StateRunning, StartedAt: t0.Add(time.Second)},
		{ID: "a1", PodUID: "ua", PodName: "a", Namespace: "default", Name: "main", State: StateRunning, StartedAt: t0},
		{ID: "old", PodUID: "ua", PodName: "a", Namespace: "default", Name: "main", State: StateExited},
		{ID: "gone", PodUID: "uc", PodName: "c", Namespace: "default", Name: "app", State: StateExited},
	})
	s := buildSummary("w1", t0, pods, prev, cur)

	if s.Node.NodeName != "w1" || s.Node.CPU.UsageNanoCores == nil || *s.Node.CPU.UsageNanoCores != 2e9 {
		t.Errorf("node cpu %+v, want 2 cores on w1", s.Node.CPU)
	}
	if *s.Node.Memory.WorkingSetBytes != 2<<30 || *s.Node.Memory.AvailableBytes != 6<<30 {
		t.Errorf("node memory working set %d available %d, want 2Gi and 6Gi", *s.Node.Memory.WorkingSetBytes, *s.Node.Memory.AvailableBytes)
	}
	var got []string
	for _, p := range s.Pods {
		var cs []string
		for _, c := range p.Containers {
			cs = append(cs, c.Name)
		}
		got = append(got, p.PodRef.Name+"["+strings.Join(cs, ",")+"]")
	}
	if want := "a[main,side] b[app]"; strings.Join(got, " ") != want {
		t.Fatalf("pods %q, want %q (running containers only, sorted)", got, want)
	}
	a := s.Pods[0]
	if a.CPU.UsageNanoCores == nil || *a.CPU.UsageNanoCores != 4e8 {
		t.Errorf("pod a cpu %v, want the sum of its containers (0.4 core)", a.CPU.UsageNanoCores)
	}
	if *a.Memory.WorkingSetBytes != 4<<20 || *a.Memory.UsageBytes != 6<<20 {
		t.Errorf("pod a memory %d/%d, want the sums 4Mi/6Mi", *a.Memory.WorkingSetBytes, *a.Memory.UsageBytes)
	}
	if !a.StartTime.Time.Equal(t0) {
		t.Errorf("pod a started %v, want its first container's start %v", a.StartTime, t0)
	}
}

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		busy     uint64
		boot     int64
		err      string
	}{
		{"kernel 6", "cpu  100 5 30 9000 40 1 2 3 0 0\ncpu0 50 2 15 4500 20 0 1 1 0 0\nbtime 1700000000\n", (100 + 5 + 30 + 1 + 2 + 3) * 1e7, 1700000000, ""},
		{"no btime", "cpu  1 0 0 0 0 0 0 0\n", 1e7, 0, ""},
		{"short cpu line", "cpu  1 2 3\n", 0, 0, "at least 8"},
		{"not a number", "cpu  1 x 0 0 0 0 0 0\n", 0, 0, "field 2"},
		{"no cpu line", "intr 5\n", 0, 0, "no cpu line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			busy, boot, err := parseProcStat(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || busy != tc.busy || (tc.boot != 0 && boot.Unix() != tc.boot) || (tc.boot == 0 && !boot.IsZero()) {
				t.Errorf("got %d %v %v, want %d %d", busy, boot, err, tc.busy, tc.boot)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	for _, tc := range []struct {
		name, in     string
		total, avail uint64
		err          string
	}{
		{"ok", "MemTotal:       16000 kB\nMemFree:  100 kB\nMemAvailable:   4000 kB\n", 16000 << 10, 4000 << 10, ""},
		{"no available", "MemTotal: 1 kB\n", 0, 0, "MemAvailable"},
		{"bad size", "MemTotal: lots kB\nMemAvailable: 1 kB\n", 0, 0, "MemTotal:"},
		{"absurd size", "MemTotal: 99999999999999999 kB\nMemAvailable: 1 kB\n", 0, 0, "MemTotal:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total, avail, err := parseMeminfo(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || total != tc.total || avail != tc.avail {
				t.Errorf("got %d %d %v, want %d %d", total, avail, err, tc.total, tc.avail)
			}
		})
	}
}

func TestReadProcNode(t *testing.T) {
	s, err := readProcNode(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if s.cpu.nanos == 0 || s.memTotal == 0 || s.memAvailable > s.memTotal {
		t.Errorf("node sample %+v: want busy CPU time and 0 < available <= total", s)
	}
}
