package worker

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

// StatsRuntime is a Runtime that reports its containers' resource usage,
// which the worker serves at /stats/summary (the kubelet's Summary API).
// The worker finds it by type assertion; without it the summary lists the
// node alone.
type StatsRuntime interface {
	// ContainerStats returns one sample of every running container the
	// worker made. Containers without a task are left out.
	ContainerStats(ctx context.Context) ([]ContainerUsage, error)
}

// ContainerUsage is one sample of a container's cgroup counters.
type ContainerUsage struct {
	ID   string
	Time time.Time
	// CPUNanos is the CPU time the container has used since it started,
	// in nanoseconds (cumulative).
	CPUNanos uint64
	// MemoryUsageBytes is the cgroup's memory usage, page cache included;
	// MemoryWorkingSetBytes leaves out inactive file pages, as the
	// kubelet's working set does (what kubectl top shows).
	MemoryUsageBytes      uint64
	MemoryWorkingSetBytes uint64
}

// Rate windows: a CPU rate is the change of a cumulative counter between
// two samples. A sample kept from the previous summary is used when it is
// at least minRateWindow and at most maxRateWindow old; otherwise the
// summary takes a second sample after minRateWindow. One second is what
// the kubelet's cadvisor housekeeping gives at best, and long enough for
// the 10 ms USER_HZ tick of /proc/stat to matter little (1%).
const (
	minRateWindow = time.Second
	maxRateWindow = time.Minute
)

// cpuSample is a cumulative CPU counter at a time.
type cpuSample struct {
	at    time.Time
	nanos uint64
}

// nanoCores returns the CPU rate between two samples in nanocores
// (1e9 = one core busy), or nil when the samples cannot give one: no time
// between them, or a counter that went back (a restarted container
// reusing an ID).
func nanoCores(prev, cur cpuSample) *uint64 {
	dt := cur.at.Sub(prev.at)
	if dt <= 0 || cur.nanos < prev.nanos {
		return nil
	}
	v := uint64(float64(cur.nanos-prev.nanos) / dt.Seconds())
	return &v
}

// usableFor reports whether prev may give a rate at now.
func usableFor(prev cpuSample, now time.Time) bool {
	age := now.Sub(prev.at)
	return age >= minRateWindow && age <= maxRateWindow
}

// nodeSample is the node's counters at one time.
type nodeSample struct {
	cpu cpuSample
	// memTotal, memAvailable are /proc/meminfo's, in bytes.
	memTotal, memAvailable uint64
}

// sample is everything one collection read.
type sample struct {
	node       nodeSample
	containers map[string]ContainerUsage // by container ID
}

// statsCollector builds summaries. It keeps the last two samples apart
// by at least minRateWindow, so that summaries asked for at any pace
// (kubectl top every few seconds, or several clients back to back) cost
// one sample each once the first has been taken. Concurrent summaries are
// serialized.
type statsCollector struct {
	// readNode reads the node's counters (/proc outside tests).
	readNode func() (nodeSample, error)
	// readContainers samples the containers; nil when the runtime cannot.
	readContainers func(ctx context.Context) ([]ContainerUsage, error)
	now            func() time.Time
	// wait pauses between two samples; a timer outside tests.
	wait func(ctx context.Context, d time.Duration) error

	mu sync.Mutex
	// older and newer are the kept samples, older first; newer is at
	// least minRateWindow after older.
	older, newer *sample
}

// collect returns the current sample and an earlier one to compute rates
// from: a kept sample old enough that covers every container the current
// one has, or else a second sample taken minRateWindow after a first.
func (c *statsCollector) collect(ctx context.Context) (prev, cur *sample, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err = c.read(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range []*sample{c.newer, c.older} {
		if s != nil && usableFor(s.node.cpu, cur.node.cpu.at) && covers(s, cur) {
			prev = s
			break
		}
	}
	if prev == nil {
		if err := c.wait(ctx, minRateWindow); err != nil {
			return nil, nil, err
		}
		prev = cur
		if cur, err = c.read(ctx); err != nil {
			return nil, nil, err
		}
		c.older, c.newer = prev, cur
		return prev, cur, nil
	}
	c.keep(cur)
	return prev, cur, nil
}

// keep records s as the newer sample; the one it replaces becomes the
// older sample when it is at least minRateWindow before s.
func (c *statsCollector) keep(s *sample) {
	if c.newer != nil && s.node.cpu.at.Sub(c.newer.node.cpu.at) >= minRateWindow {
		c.older = c.newer
	}
	c.newer = s
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// covers reports whether prev has a sample of every container cur has.
func covers(prev, cur *sample) bool {
	for id := range cur.containers {
		if _, ok := prev.containers[id]; !ok {
			return false
		}
	}
	return true
}

func (c *statsCollector) read(ctx context.Context) (*sample, error) {
	n, err := c.readNode()
	if err != nil {
		return nil, err
	}
	s := &sample{node: n, containers: map[string]ContainerUsage{}}
	if c.readContainers != nil {
		cs, err := c.readContainers(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range cs {
			s.containers[u.ID] = u
		}
	}
	return s, nil
}

// summaryPod is a pod of the node with its running containers, as the
// summary needs them.
type summaryPod struct {
	Namespace, Name, UID string
	StartTime            time.Time
	Containers           []summaryContainer
}

type summaryContainer struct {
	ID, Name  string
	StartTime time.Time
}

// buildSummary turns two samples into the kubelet's Summary: node usage
// and, for every pod, its containers' usage and their sums. A pure
// function of its inputs.
func buildSummary(nodeName string, bootTime time.Time, pods []summaryPod, prev, cur *sample) statsv1.Summary {
	ts := metav1.NewTime(cur.node.cpu.at)
	coreNanos := cur.node.cpu.nanos
	ws := cur.node.memTotal - min(cur.node.memAvailable, cur.node.memTotal)
	avail := cur.node.memAvailable
	out := statsv1.Summary{
		Node: statsv1.NodeStats{
			NodeName:  nodeName,
			StartTime: metav1.NewTime(bootTime),
			CPU:       &statsv1.CPUStats{Time: ts, UsageNanoCores: nanoCores(prev.node.cpu, cur.node.cpu), UsageCoreNanoSeconds: &coreNanos},
			Memory:    &statsv1.MemoryStats{Time: ts, AvailableBytes: &avail, UsageBytes: &ws, WorkingSetBytes: &ws},
		},
		Pods: []statsv1.PodStats{},
	}
	for _, p := range pods {
		ps := statsv1.PodStats{
			PodRef:     statsv1.PodReference{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			StartTime:  metav1.NewTime(p.StartTime),
			Containers: []statsv1.ContainerStats{},
		}
		var podCPU, podCores, podMem, podWS uint64
		coresKnown := true
		for _, c := range p.Containers {
			u, ok := cur.containers[c.ID]
			if !ok {
				continue
			}
			ct := metav1.NewTime(u.Time)
			cs := statsv1.ContainerStats{Name: c.Name, StartTime: metav1.NewTime(c.StartTime),
				CPU:    &statsv1.CPUStats{Time: ct, UsageCoreNanoSeconds: ptr.To(u.CPUNanos)},
				Memory: &statsv1.MemoryStats{Time: ct, UsageBytes: ptr.To(u.MemoryUsageBytes), WorkingSetBytes: ptr.To(u.MemoryWorkingSetBytes)},
			}
			if pu, ok := prev.containers[c.ID]; ok {
				cs.CPU.UsageNanoCores = nanoCores(cpuSample{pu.Time, pu.CPUNanos}, cpuSample{u.Time, u.CPUNanos})
			}
			if cs.CPU.UsageNanoCores == nil {
				coresKnown = false
			} else {
				podCores += *cs.CPU.UsageNanoCores
			}
			podCPU += u.CPUNanos
			podMem += u.MemoryUsageBytes
			podWS += u.MemoryWorkingSetBytes
			ps.Containers = append(ps.Containers, cs)
		}
		if len(ps.Containers) > 0 {
			ps.CPU = &statsv1.CPUStats{Time: ts, UsageCoreNanoSeconds: ptr.To(podCPU)}
			if coresKnown {
				ps.CPU.UsageNanoCores = ptr.To(podCores)
			}
			ps.Memory = &statsv1.MemoryStats{Time: ts, UsageBytes: ptr.To(podMem), WorkingSetBytes: ptr.To(podWS)}
		}
		out.Pods = append(out.Pods, ps)
	}
	return out
}
