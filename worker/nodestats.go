package worker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/stat's CPU times. Linux fixes it at 100 for
// user space on every architecture the worker runs on.
const userHZ = 100

// readProcNode samples the node's CPU and memory from /proc.
func readProcNode(now func() time.Time) (nodeSample, error) {
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nodeSample{}, fmt.Errorf("node stats: %w", err)
	}
	at := now()
	mi, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nodeSample{}, fmt.Errorf("node stats: %w", err)
	}
	busy, _, err := parseProcStat(bytes.NewReader(st))
	if err != nil {
		return nodeSample{}, fmt.Errorf("node stats: /proc/stat: %w", err)
	}
	total, avail, err := parseMeminfo(bytes.NewReader(mi))
	if err != nil {
		return nodeSample{}, fmt.Errorf("node stats: /proc/meminfo: %w", err)
	}
	return nodeSample{cpu: cpuSample{at: at, nanos: busy}, memTotal: total, memAvailable: avail}, nil
}

// bootTime returns when the node booted (/proc/stat's btime), or the zero
// time when it cannot be read.
func bootTime() time.Time {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	_, bt, _ := parseProcStat(f)
	return bt
}

// parseProcStat reads the aggregate "cpu" line of /proc/stat and returns
// the CPU time spent busy (user, nice, system, irq, softirq, steal; not
// idle or iowait) in nanoseconds, and the boot time (btime line, zero if
// absent). guest times are already inside user and nice.
func parseProcStat(r io.Reader) (busyNanos uint64, boot time.Time, err error) {
	sc := bufio.NewScanner(r)
	found := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "cpu":
			if len(f) < 8 {
				return 0, time.Time{}, fmt.Errorf("cpu line has %d fields, want at least 8", len(f))
			}
			var ticks uint64
			// user nice system idle iowait irq softirq steal
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					return 0, time.Time{}, fmt.Errorf("cpu line field %d: %w", i, err)
				}
				ticks += v
			}
			busyNanos, found = ticks*(uint64(time.Second)/userHZ), true
		case "btime":
			if len(f) == 2 {
				if s, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					boot = time.Unix(s, 0)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, time.Time{}, err
	}
	if !found {
		return 0, time.Time{}, fmt.Errorf("no cpu line")
	}
	return busyNanos, boot, nil
}

// parseMeminfo returns MemTotal and MemAvailable in bytes. The node's
// working set is their difference, the memory the kernel could not hand
// out without reclaiming from someone.
func parseMeminfo(r io.Reader) (total, available uint64, err error) {
	sc := bufio.NewScanner(r)
	var haveTotal, haveAvail bool
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || (f[0] != "MemTotal:" && f[0] != "MemAvailable:") {
			continue
		}
		kb, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || kb > 1<<53 {
			return 0, 0, fmt.Errorf("%s %q is not a size in kB", f[0], f[1])
		}
		if f[0] == "MemTotal:" {
			total, haveTotal = kb*1024, true
		} else {
			available, haveAvail = kb*1024, true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !haveTotal || !haveAvail {
		return 0, 0, fmt.Errorf("no MemTotal or MemAvailable")
	}
	return total, available, nil
}
