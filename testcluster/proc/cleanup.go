package proc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
)

// cleanupTimeout bounds killing one containerd's containers.
const cleanupTimeout = 30 * time.Second

// killTasks kills and deletes every task in every namespace of the
// daemon, so no shim or container process outlives the cluster.
func killTasks(ctx context.Context, c *containerd.Client) error {
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return fmt.Errorf("cleanup: list namespaces: %w", err)
	}
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := c.Containers(nctx)
		if err != nil {
			return fmt.Errorf("cleanup: list containers: %w", err)
		}
		for _, ctr := range ctrs {
			task, err := ctr.Task(nctx, nil)
			if err != nil {
				continue // no task
			}
			// WithProcessKill kills the task and waits for it first.
			_, _ = task.Delete(nctx, containerd.WithProcessKill)
		}
	}
	return nil
}

// unmountUnder lazily unmounts every mount point below dir, deepest
// first: container root filesystems and the pods' network namespace
// files a killed worker never removed.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
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
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: unmount %s: %w", p, err))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
