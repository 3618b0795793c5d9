package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// densityPods is how many pods BenchmarkDensity runs on one worker.
const densityPods = 100

// BenchmarkDensity runs densityPods pods on one worker, started as its own
// process (`skiff worker`) so its memory and CPU can be read from /proc,
// and reports the time until all are Ready, the worker's RSS, and its CPU
// use while idle with them running.
func BenchmarkDensity(b *testing.B) {
	for range b.N {
		densityOnce(b)
	}
}

func densityOnce(b *testing.B) {
	e := newBareEnv(b)
	bin := filepath.Join(b.TempDir(), "skiff")
	build := exec.Command("go", "build", "-o", bin, "../cmd/skiff")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build skiff: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "worker",
		"--name", "w1", "--data-dir", e.dataDir, "--join", e.c.Config(0).GossipAddr, "--containerd-socket", e.d.Address,
		"--gossip-addr", "127.0.0.1:0", "--listen-addr", "127.0.0.1:0", "--cni-bridge", e.bridge,
		"--cni-conf-dir", filepath.Join(e.dataDir, "cni"), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SKIFF_TOKEN="+e.c.Token())
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		e.drain(b)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	e.givePodCIDR(b)

	start := time.Now()
	for i := range densityPods {
		e.createPod(b, "d-"+strconv.Itoa(i), nil, corev1.EnvVar{Name: "PORT", Value: "8080"})
	}
	e.waitFor(b, "all pods Ready", 5*time.Minute, func() bool {
		l, err := e.admin.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		ready := 0
		for i := range l.Items {
			if podReady(&l.Items[i]) {
				ready++
			}
		}
		return ready == densityPods
	})
	allReady := time.Since(start)

	// Let the start-up work settle, then measure idle CPU over a fixed
	// window: both are measurement intervals, not waits for a state.
	<-time.After(5 * time.Second)
	pid := cmd.Process.Pid
	cpu0, t0 := cpuTicks(b, pid), time.Now()
	<-time.After(10 * time.Second)
	cpu1, t1 := cpuTicks(b, pid), time.Now()
	rss := rssKiB(b, pid)
	idle := float64(cpu1-cpu0) / 100 / t1.Sub(t0).Seconds() * 100 // USER_HZ is 100
	fmt.Fprintf(os.Stderr, "density: %d pods Ready in %v; worker RSS %.1f MiB; idle CPU %.2f%% of a core\n",
		densityPods, allReady.Round(100*time.Millisecond), float64(rss)/1024, idle)
	b.ReportMetric(allReady.Seconds(), "all-ready-s")
	b.ReportMetric(float64(rss)/1024, "rss-MiB")
	b.ReportMetric(idle, "idle-cpu-%")
}

// cpuTicks is utime+stime of pid, in clock ticks.
func cpuTicks(tb testing.TB, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// rssKiB is VmRSS of pid.
func rssKiB(tb testing.TB, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}
