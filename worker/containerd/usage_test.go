package containerd

import (
	"strings"
	"testing"

	v1 "github.com/containerd/cgroups/stats/v1"
	v2 "github.com/containerd/cgroups/v2/stats"
)

func TestDecodeMetrics(t *testing.T) {
	must := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cg1 := must((&v1.Metrics{
		CPU:    &v1.CPUStat{Usage: &v1.CPUUsage{Total: 5e9}},
		Memory: &v1.MemoryStat{Usage: &v1.MemoryEntry{Usage: 100 << 20}, TotalInactiveFile: 30 << 20},
	}).Marshal())
	cg2 := must((&v2.Metrics{
		CPU:    &v2.CPUStat{UsageUsec: 7e6},
		Memory: &v2.MemoryStat{Usage: 50 << 20, InactiveFile: 60 << 20},
	}).Marshal())
	for _, tc := range []struct {
		name, url    string
		data         []byte
		cpu, mem, ws uint64
		err          string
	}{
		{"cgroup v1", "io.containerd.cgroups.v1.Metrics", cg1, 5e9, 100 << 20, 70 << 20, ""},
		{"cgroup v1 with a type prefix", "types.containerd.io/io.containerd.cgroups.v1.Metrics", cg1, 5e9, 100 << 20, 70 << 20, ""},
		// More inactive file pages than usage (they are counted apart):
		// the working set is 0, not a wrapped-around huge number.
		{"cgroup v2", "io.containerd.cgroups.v2.Metrics", cg2, 7e9, 50 << 20, 0, ""},
		{"empty v1 message", "io.containerd.cgroups.v1.Metrics", nil, 0, 0, 0, ""},
		{"unknown type", "io.containerd.windows.Stats", cg1, 0, 0, 0, "unknown metrics type"},
		{"garbage", "io.containerd.cgroups.v1.Metrics", []byte{0xff, 0xff, 0xff}, 0, 0, 0, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := decodeMetrics(tc.url, tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || u.CPUNanos != tc.cpu || u.MemoryUsageBytes != tc.mem || u.MemoryWorkingSetBytes != tc.ws {
				t.Errorf("got %+v %v, want cpu %d usage %d working set %d", u, err, tc.cpu, tc.mem, tc.ws)
			}
		})
	}
}
