package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffhq/skiff/worker"
)

// containerID is a container's containerd ID: a digest of its pod,
// name and attempt, so a retried create finds its own earlier attempt.
func containerID(podUID, name string, attempt int) string {
	sum := sha256.Sum256([]byte(podUID + "/" + name + "/" + strconv.Itoa(attempt)))
	return hex.EncodeToString(sum[:16])
}

// CreateContainer creates a container in the sandbox's network namespace.
func (r *Runtime) CreateContainer(ctx context.Context, sb worker.Sandbox, cfg worker.ContainerConfig) (string, error) {
	ctx = r.ns(ctx)
	id := containerID(sb.PodUID, cfg.Name, cfg.Attempt)
	if _, err := r.c.LoadContainer(ctx, id); err == nil {
		return id, nil
	}
	img, err := r.c.GetImage(ctx, normalize(cfg.Image))
	if err != nil {
		return "", fmt.Errorf("image %s: %w", cfg.Image, wrap(err))
	}
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	switch {
	case len(cfg.Command) > 0:
		opts = append(opts, oci.WithProcessArgs(append(append([]string{}, cfg.Command...), cfg.Args...)...))
	case len(cfg.Args) > 0:
		opts = append(opts, oci.WithImageConfigArgs(img, cfg.Args))
	}
	if len(cfg.Env) > 0 {
		opts = append(opts, oci.WithEnv(cfg.Env))
	}
	if cfg.WorkDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkDir))
	}
	// The pod's own resolv.conf when the worker wrote one (cluster DNS),
	// else the node's.
	resolv := filepath.Join(sb.Dir, resolvConfFile)
	if _, err := os.Stat(resolv); err != nil {
		resolv = "/etc/resolv.conf"
	}
	mounts := []specs.Mount{
		{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(sb.Dir, "hosts"), Options: []string{"rbind", "ro"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: resolv, Options: []string{"rbind", "ro"}},
	}
	for _, m := range cfg.Mounts {
		o := []string{"rbind", "rw"}
		if m.ReadOnly {
			o[1] = "ro"
		}
		mounts = append(mounts, specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: o})
	}
	hostname := sb.Hostname
	if hostname == "" {
		hostname = sb.PodName
	}
	opts = append(opts,
		oci.WithMounts(mounts),
		oci.WithHostname(hostname),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNS}),
	)
	if cfg.MemoryBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(cfg.MemoryBytes)))
	}
	if cfg.CPUMilli > 0 {
		const period = 100000
		opts = append(opts, oci.WithCPUCFS(cfg.CPUMilli*period/1000, period))
	}
	if cfg.RunAsUser != nil {
		gid := uint32(0)
		if cfg.RunAsGroup != nil {
			gid = uint32(*cfg.RunAsGroup)
		}
		opts = append(opts, oci.WithUIDGID(uint32(*cfg.RunAsUser), gid))
	}
	if cfg.ReadOnlyRoot {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	labels := map[string]string{
		labelPodUID: sb.PodUID, labelPodName: sb.PodName, labelPodNS: sb.Namespace,
		labelContainer: cfg.Name, labelAttempt: strconv.Itoa(cfg.Attempt),
		labelLogPath: cfg.LogPath, labelImage: cfg.Image,
	}
	var copts []containerd.NewContainerOpts
	if r.opts.Snapshotter != "" {
		copts = append(copts, containerd.WithSnapshotter(r.opts.Snapshotter))
	}
	copts = append(copts,
		containerd.WithImage(img),
		containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(labels),
	)
	_, err = r.c.NewContainer(ctx, id, copts...)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, wrap(err))
	}
	return id, nil
}

// StartContainer starts the container's task, with its output going to
// its log file, and watches for its exit (task.Wait before task.Start,
// so a fast exit is not missed).
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.c.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return wrap(err)
	}
	logs, err := openLog(info.Labels[labelLogPath], r.opts.LogMaxSize)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	stdout, stderr := logs.writer("stdout"), logs.writer("stderr")
	closeLogs := func() {
		stdout.Close()
		stderr.Close()
		logs.close()
	}
	task, err := c.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir(filepath.Join(r.opts.DataDir, "fifo"))))
	if err != nil {
		closeLogs()
		return fmt.Errorf("create task: %w", wrap(err))
	}
	wctx := r.ns(r.bg)
	exitCh, err := task.Wait(wctx)
	if err != nil {
		task.Delete(ctx)
		closeLogs()
		return fmt.Errorf("wait task: %w", wrap(err))
	}
	if _, err := c.SetLabels(ctx, map[string]string{labelStartedAt: time.Now().UTC().Format(time.RFC3339Nano)}); err != nil {
		task.Delete(ctx)
		closeLogs()
		return wrap(err)
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(ctx, containerd.WithProcessKill)
		closeLogs()
		return fmt.Errorf("start task: %w", wrap(err))
	}
	r.watch(id, info.Labels[labelPodUID], task, exitCh, closeLogs)
	return nil
}

// watch waits, in the background, for the task to exit, records the exit
// on the container and deletes the task.
func (r *Runtime) watch(id, podUID string, task containerd.Task, exitCh <-chan containerd.ExitStatus, closeLogs func()) {
	r.mu.Lock()
	if r.waiters[id] {
		r.mu.Unlock()
		return
	}
	r.waiters[id] = true
	r.mu.Unlock()
	r.wg.Go(func() {
		defer func() {
			r.mu.Lock()
			delete(r.waiters, id)
			r.mu.Unlock()
		}()
		for {
			select {
			case st := <-exitCh:
				if st.Error() != nil {
					// The wait broke, not the process: containerd went
					// away (a restart). Wait again once it is back; the
					// task keeps running under its shim meanwhile.
					if exitCh = r.rewait(task); exitCh == nil {
						if closeLogs != nil {
							closeLogs()
						}
						return
					}
					continue
				}
				ctx := r.ns(context.Background())
				r.recordExit(ctx, id, task, st.ExitCode(), st.ExitTime())
				if closeLogs != nil {
					closeLogs()
				}
				r.notifyExit(podUID)
			case <-r.bg.Done():
				if closeLogs != nil {
					task.IO().Cancel()
					closeLogs()
				}
			}
			return
		}
	})
}

// rewait calls task.Wait until it works, every half second, and returns
// nil once the Runtime is closed.
func (r *Runtime) rewait(task containerd.Task) <-chan containerd.ExitStatus {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.bg.Done():
			return nil
		case <-t.C:
		}
		if ch, err := task.Wait(r.ns(r.bg)); err == nil {
			return ch
		}
	}
}

// recordExit writes the exit code and time on the container, and the
// reason when the runtime can explain the exit (OOMKilled), and deletes
// its task, once. It returns the reason recorded, by this call or an
// earlier one: the exit watcher and ListContainers may both see the exit,
// and only the first can still read the cgroup.
func (r *Runtime) recordExit(ctx context.Context, id string, task containerd.Task, code uint32, at time.Time) string {
	r.exitMu.Lock()
	defer r.exitMu.Unlock()
	c, err := r.c.LoadContainer(ctx, id)
	if err != nil {
		return ""
	}
	defer func() {
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			r.log.Debug("delete task", "id", id, "err", err)
		}
	}()
	if info, err := c.Info(ctx); err == nil && info.Labels[labelExitCode] != "" {
		return info.Labels[labelReason]
	}
	labels := map[string]string{labelExitCode: strconv.Itoa(int(int32(code))), labelExitAt: at.UTC().Format(time.RFC3339Nano)}
	if code == 137 && r.oomKilled(ctx, task) {
		labels[labelReason] = "OOMKilled"
	}
	c.SetLabels(ctx, labels)
	return labels[labelReason]
}

// StopContainer sends SIGTERM, waits up to grace, then SIGKILL.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx = r.ns(ctx)
	c, err := r.c.LoadContainer(ctx, id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return wrap(err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return wrap(err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return wrap(err)
	}
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return wrap(err)
	}
	if st.Status == containerd.Running || st.Status == containerd.Paused {
		if grace > 0 {
			if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
				return wrap(err)
			}
			t := time.NewTimer(grace)
			select {
			case es := <-exitCh:
				t.Stop()
				r.recordExit(ctx, id, task, es.ExitCode(), es.ExitTime())
				return nil
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return wrap(err)
		}
	}
	select {
	case es := <-exitCh:
		r.recordExit(ctx, id, task, es.ExitCode(), es.ExitTime())
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RemoveContainer deletes the container (its task first) and snapshot.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.c.LoadContainer(ctx, id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return wrap(err)
	}
	if task, err := c.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return wrap(err)
		}
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return wrap(err)
	}
	return nil
}

// ListContainers lists the worker's containers, of one pod or all.
// Running tasks nobody watches (after a worker restart) are adopted: their
// output is re-attached to their log and their exit watched.
func (r *Runtime) ListContainers(ctx context.Context, podUID string) ([]worker.ContainerStatus, error) {
	ctx = r.ns(ctx)
	var filters []string
	if podUID != "" {
		filters = append(filters, fmt.Sprintf("labels.%q==%s", labelPodUID, podUID))
	}
	cs, err := r.c.Containers(ctx, filters...)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]worker.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		info, err := c.Info(ctx, containerd.WithoutRefreshedMetadata)
		if err != nil {
			continue
		}
		out = append(out, r.status(ctx, c, info))
	}
	return out, nil
}

// status reads one container's state from its labels and task.
func (r *Runtime) status(ctx context.Context, c containerd.Container, info containers.Container) worker.ContainerStatus {
	l := info.Labels
	attempt, _ := strconv.Atoi(l[labelAttempt])
	s := worker.ContainerStatus{
		ID: c.ID(), PodUID: l[labelPodUID], PodName: l[labelPodName], Namespace: l[labelPodNS],
		Name: l[labelContainer], Attempt: attempt, CreatedAt: info.CreatedAt,
		Image: l[labelImage], LogPath: l[labelLogPath], State: worker.StateCreated,
	}
	if img, err := c.Image(ctx); err == nil {
		s.ImageID = img.Target().Digest.String()
	}
	s.StartedAt, _ = time.Parse(time.RFC3339Nano, l[labelStartedAt])
	if code, ok := l[labelExitCode]; ok {
		n, _ := strconv.Atoi(code)
		s.State, s.ExitCode, s.Reason = worker.StateExited, int32(n), l[labelReason]
		s.FinishedAt, _ = time.Parse(time.RFC3339Nano, l[labelExitAt])
		return s
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		if !s.StartedAt.IsZero() {
			// Started, but the task is gone without a recorded exit.
			s.State, s.ExitCode, s.Reason, s.FinishedAt = worker.StateExited, 255, "Unknown", s.StartedAt
		}
		return s
	}
	st, err := task.Status(ctx)
	if err != nil {
		s.State = worker.StateUnknown
		return s
	}
	switch st.Status {
	case containerd.Running, containerd.Paused, containerd.Pausing:
		s.State = worker.StateRunning
		r.adopt(ctx, c, s)
	case containerd.Stopped:
		s.State, s.ExitCode, s.FinishedAt = worker.StateExited, int32(st.ExitStatus), st.ExitTime
		s.Reason = r.recordExit(ctx, c.ID(), task, st.ExitStatus, st.ExitTime)
	}
	return s
}

// adopt starts watching a running task this Runtime did not start.
func (r *Runtime) adopt(ctx context.Context, c containerd.Container, s worker.ContainerStatus) {
	r.mu.Lock()
	watched := r.waiters[c.ID()]
	r.mu.Unlock()
	if watched {
		return
	}
	logs, err := openLog(s.LogPath, r.opts.LogMaxSize)
	if err != nil {
		return
	}
	stdout, stderr := logs.writer("stdout"), logs.writer("stderr")
	closeLogs := func() {
		stdout.Close()
		stderr.Close()
		logs.close()
	}
	task, err := c.Task(ctx, cio.NewAttach(cio.WithStreams(nil, stdout, stderr)))
	if err != nil {
		closeLogs()
		return
	}
	exitCh, err := task.Wait(r.ns(r.bg))
	if err != nil {
		closeLogs()
		return
	}
	r.log.Info("adopted running container", "pod", s.Namespace+"/"+s.PodName, "container", s.Name, "id", c.ID())
	r.watch(c.ID(), s.PodUID, task, exitCh, closeLogs)
}

// errNoTask means the container has no running process.
var errNoTask = errors.New("container is not running")
