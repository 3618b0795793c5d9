package containerd

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// oomKilled reports whether the kernel's OOM killer has killed a process
// of task's container: the oom_kill counter of the container's memory
// cgroup, read when its exit is seen and before the task (and with it the
// cgroup) is deleted. It reads memory.events on cgroup v2 and
// memory.oom_control on v1 (kernels since 4.13 count oom_kill there too).
// A cgroup it cannot find or read counts as no OOM kill: the exit is then
// reported as an Error with its code, as before.
func (r *Runtime) oomKilled(ctx context.Context, task containerd.Task) bool {
	c, err := r.c.LoadContainer(ctx, task.ID())
	if err != nil {
		return false
	}
	spec, err := c.Spec(ctx)
	if err != nil || spec.Linux == nil {
		return false
	}
	for _, f := range memoryEventFiles(spec.Linux.CgroupsPath) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		return parseOOMKills(b) > 0
	}
	return false
}

// memoryEventFiles lists the files that may count OOM kills for the
// cgroup at path (the OCI spec's cgroupsPath), the unified hierarchy's
// first. Paths in systemd's "slice:prefix:name" form are not resolved.
func memoryEventFiles(path string) []string {
	if path == "" || strings.Contains(path, ":") {
		return nil
	}
	path = filepath.Join("/", path)
	return []string{
		filepath.Join(cgroupRoot, path, "memory.events"),
		filepath.Join(cgroupRoot, "memory", path, "memory.oom_control"),
	}
}

// parseOOMKills returns the "oom_kill N" entry of a cgroup memory.events
// (v2) or memory.oom_control (v1) file: lines of a key and a decimal
// count. A file without the entry, or with a malformed one, counts 0.
func parseOOMKills(b []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || key != "oom_kill" {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}
