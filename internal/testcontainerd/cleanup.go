package testcontainerd

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
)

// cleanup undoes Start: tasks first (their shims would outlive the
// daemon), then the daemon, then any mount left under its directory.
func (d *Daemon) cleanup(t testing.TB) {
	if d.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := killAll(ctx, d.client); err != nil {
			t.Logf("testcontainerd: cleanup: %v", err)
		}
		cancel()
	}
	if err := d.stop(); err != nil {
		t.Logf("testcontainerd: cleanup: %v", err)
	}
	if t.Failed() {
		t.Log(d.logTail())
	}
	unmountUnder(t, d.dir)
	if err := os.RemoveAll(d.dir); err != nil {
		t.Logf("testcontainerd: cleanup: %v", err)
	}
}

// killAll kills and deletes every task in every namespace, so no shim
// or container process outlives the test.
func killAll(ctx context.Context, c *containerd.Client) error {
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return err
	}
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := c.Containers(nctx)
		if err != nil {
			return err
		}
		for _, ctr := range ctrs {
			task, err := ctr.Task(nctx, nil)
			if err != nil {
				continue // no task
			}
			// WithProcessKill kills the task and waits for it before
			// deleting it.
			_, _ = task.Delete(nctx, containerd.WithProcessKill)
		}
	}
	return nil
}

// unmountUnder lazily unmounts every mount point below dir, deepest
// first (rootfs mounts of tasks that outlived a crashed daemon).
func unmountUnder(t testing.TB, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			t.Logf("testcontainerd: cleanup: unmount %s: %v", p, err)
		}
	}
}
