package containerd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/stats/v1"
	v2 "github.com/containerd/cgroups/v2/stats"
	"github.com/containerd/containerd/api/services/tasks/v1"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/worker"
)

// ContainerStats samples every task of the worker's namespace in one
// call (containerd reads each task's cgroup) and returns the usage of
// those it can decode. The metric types are cgroups' own protobuf
// messages: io.containerd.cgroups.v1.Metrics on cgroup v1 hosts, v2 on
// unified ones. They are decoded with the generated Unmarshal methods of
// github.com/containerd/cgroups v1.1.0 (already a dependency of the
// containerd client) because the wire format has not changed since.
func (r *Runtime) ContainerStats(ctx context.Context) ([]worker.ContainerUsage, error) {
	ctx = r.ns(ctx)
	resp, err := r.c.TaskService().Metrics(ctx, &tasks.MetricsRequest{})
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]worker.ContainerUsage, 0, len(resp.Metrics))
	for _, m := range resp.Metrics {
		if m.Data == nil {
			continue
		}
		u, err := decodeMetrics(m.Data.GetTypeUrl(), m.Data.GetValue())
		if err != nil {
			r.log.Debug("undecodable task metrics", "container", m.ID, "err", err)
			continue
		}
		u.ID = m.ID
		u.Time = time.Now()
		if m.Timestamp != nil {
			u.Time = m.Timestamp.AsTime()
		}
		out = append(out, u)
	}
	return out, nil
}

// decodeMetrics reads CPU and memory from one task's metrics. The working
// set is usage less inactive file pages, as the kubelet computes it.
func decodeMetrics(typeURL string, data []byte) (worker.ContainerUsage, error) {
	var u worker.ContainerUsage
	switch {
	case strings.HasSuffix(typeURL, "io.containerd.cgroups.v1.Metrics"):
		var m v1.Metrics
		if err := m.Unmarshal(data); err != nil {
			return u, fmt.Errorf("decode %s: %w", typeURL, err)
		}
		if m.CPU != nil && m.CPU.Usage != nil {
			u.CPUNanos = m.CPU.Usage.Total
		}
		if m.Memory != nil && m.Memory.Usage != nil {
			u.MemoryUsageBytes = m.Memory.Usage.Usage
			u.MemoryWorkingSetBytes = u.MemoryUsageBytes - min(m.Memory.TotalInactiveFile, u.MemoryUsageBytes)
		}
	case strings.HasSuffix(typeURL, "io.containerd.cgroups.v2.Metrics"):
		var m v2.Metrics
		if err := m.Unmarshal(data); err != nil {
			return u, fmt.Errorf("decode %s: %w", typeURL, err)
		}
		if m.CPU != nil {
			u.CPUNanos = m.CPU.UsageUsec * 1000
		}
		if m.Memory != nil {
			u.MemoryUsageBytes = m.Memory.Usage
			u.MemoryWorkingSetBytes = u.MemoryUsageBytes - min(m.Memory.InactiveFile, u.MemoryUsageBytes)
		}
	default:
		return u, fmt.Errorf("unknown metrics type %q", typeURL)
	}
	return u, nil
}

// ImportImage loads an OCI archive into the worker's namespace and
// unpacks it into the worker's snapshotter.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]worker.ImportedImage, error) {
	imgs, err := ociimage.Import(r.ns(ctx), r.c, archive, r.opts.Snapshotter)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]worker.ImportedImage, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, worker.ImportedImage{Name: img.Name, Digest: img.Target.Digest.String()})
	}
	return out, nil
}
