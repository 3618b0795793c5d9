//go:build crashpoints

package crashpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Enabled reports whether this binary was built with crash points.
const Enabled = true

var (
	armed string // the point SKIFF_CRASHPOINT names
	after int64  // the hit that kills
	hits  atomic.Int64
)

func init() {
	spec := os.Getenv("SKIFF_CRASHPOINT")
	if spec == "" {
		return
	}
	name, n, ok := strings.Cut(spec, ":")
	count, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || count < 1 {
		fmt.Fprintf(os.Stderr, "SKIFF_CRASHPOINT=%q: want name:N with N >= 1\n", spec)
		os.Exit(2)
	}
	armed, after = name, count
}

// Hit kills the process with SIGKILL if name is the armed point and this
// is its N-th hit. SIGKILL, not exit: nothing deferred runs, no buffer is
// flushed, as in a crash.
func Hit(name string) {
	if name != armed || hits.Add(1) != after {
		return
	}
	fmt.Fprintf(os.Stderr, "crashpoint %s: hit %d, killing the process\n", name, after)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not handled; wait for it
}
