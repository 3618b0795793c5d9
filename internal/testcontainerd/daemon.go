package testcontainerd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
)

// RequireEnv names the environment variable that turns a skip into a
// failure: CI sets it so the worker's tests cannot pass by not running.
const RequireEnv = "SKIFF_REQUIRE_WORKER"

// startTimeout bounds how long Start and Restart wait for the daemon to
// answer. Without the CRI plugin containerd 1.6 answers in well under a
// second; the margin is for a loaded two-core machine.
const startTimeout = 30 * time.Second

// stopTimeout bounds the wait for a SIGTERMed daemon before SIGKILL.
const stopTimeout = 10 * time.Second

// Daemon is one private containerd. Its exported fields are fixed for its
// lifetime, across Restart. A Daemon is used by one test goroutine at a
// time: Restart and the cleanup must not run concurrently with each other.
type Daemon struct {
	// Address is the grpc socket, for containerd.New and for the worker's
	// config.
	Address string
	// Root and State are the daemon's root and state directories.
	Root, State string
	// Snapshotter is "overlayfs" when the host supports it and "native"
	// otherwise. Namespaces made with Namespace default to it; callers
	// that pick a snapshotter themselves should pass this one.
	Snapshotter string
	// RuncRoot is a private directory for runc's state; pass it as the
	// runc runtime option Root to keep containers apart from other
	// daemons' containers of the same namespace and ID.
	RuncRoot string

	dir     string // private directory holding everything above
	cfgPath string
	logPath string
	netns   string

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	client *containerd.Client
}

// Option configures Start.
type Option func(*Daemon)

// WithNetNS runs the daemon inside the network namespace at path (a
// /run/netns/NAME file) through nsenter, entering only the network
// namespace: `ip netns exec` also remounts /sys, which hides the cgroup v1
// mounts runc needs.
func WithNetNS(path string) Option { return func(d *Daemon) { d.netns = path } }

// Available reports whether a daemon can run here, and if not, why.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("containerd needs root")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found (apt-get install containerd runc, or make deps): %w", bin, err)
		}
	}
	return nil
}

// SkipUnlessAvailable skips t when Available fails, or fails it when
// SKIFF_REQUIRE_WORKER=1.
func SkipUnlessAvailable(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("testcontainerd: %v, and %s=1 forbids skipping", err, RequireEnv)
		}
		t.Skipf("testcontainerd: %v; skipping (set %s=1 to fail instead)", err, RequireEnv)
	}
}

// Start starts a private containerd, waits until it answers, and returns
// it with a connected client. The cleanup kills every task the daemon
// still runs, stops the daemon and removes its directories; when the test
// failed it logs the tail of the daemon's log.
func Start(t testing.TB, opts ...Option) *Daemon {
	t.Helper()
	SkipUnlessAvailable(t)
	// A short directory: the grpc socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "ctd-")
	if err != nil {
		t.Fatalf("testcontainerd: %v", err)
	}
	d := &Daemon{
		Address:  filepath.Join(dir, "c.sock"),
		Root:     filepath.Join(dir, "root"),
		State:    filepath.Join(dir, "state"),
		RuncRoot: filepath.Join(dir, "runc"),
		dir:      dir,
		cfgPath:  filepath.Join(dir, "config.toml"),
		logPath:  filepath.Join(dir, "containerd.log"),
	}
	for _, o := range opts {
		o(d)
	}
	t.Cleanup(func() { d.cleanup(t) })
	if err := os.WriteFile(d.cfgPath, []byte(configTOML(d)), 0o600); err != nil {
		t.Fatalf("testcontainerd: write config: %v", err)
	}
	if err := d.start(); err != nil {
		t.Fatalf("testcontainerd: %v\n%s", err, d.logTail())
	}
	snap, err := pickSnapshotter(context.Background(), d.client)
	if err != nil {
		t.Fatalf("testcontainerd: %v\n%s", err, d.logTail())
	}
	d.Snapshotter = snap
	return d
}

// Client returns the client connected to the daemon. Restart replaces it
// (and closes the old one), so call Client again after a Restart.
func (d *Daemon) Client() *containerd.Client { return d.client }

// Restart stops the daemon with SIGTERM, as a service manager would, and
// starts it again on the same config, root and state. Running tasks
// survive: their shims outlive the daemon, which reconnects to them.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	if err := d.stop(); err != nil {
		t.Fatalf("testcontainerd: restart: %v\n%s", err, d.logTail())
	}
	if err := d.start(); err != nil {
		t.Fatalf("testcontainerd: restart: %v\n%s", err, d.logTail())
	}
}

// LogPath is the file the daemon writes its log to.
func (d *Daemon) LogPath() string { return d.logPath }

// start runs the daemon and waits until it answers a Version call.
func (d *Daemon) start() error {
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	args := []string{"containerd", "--config", d.cfgPath}
	if d.netns != "" {
		args = append([]string{"nsenter", "--net=" + d.netns, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the test binary dies, the daemon goes with it rather
	// than holding its sockets and mounts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(exited)
	}()
	d.cmd, d.exited = cmd, exited
	c, err := waitReady(d.Address, exited)
	if err != nil {
		_ = d.stop()
		return err
	}
	d.client = c
	return nil
}

// waitReady dials the socket until the daemon answers, it exits, or
// startTimeout passes.
func waitReady(address string, exited <-chan struct{}) (*containerd.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if _, err := os.Stat(address); err == nil {
			c, err := containerd.New(address, containerd.WithTimeout(time.Second))
			if err == nil {
				vctx, vcancel := context.WithTimeout(ctx, time.Second)
				_, err = c.Version(vctx)
				vcancel()
				if err == nil {
					return c, nil
				}
				c.Close()
			}
			lastErr = err
		}
		select {
		case <-exited:
			return nil, errors.New("containerd exited while starting")
		case <-ctx.Done():
			return nil, fmt.Errorf("containerd did not answer on %s within %s (last error: %v)", address, startTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// stop closes the client and stops the daemon: SIGTERM, then SIGKILL
// after stopTimeout.
func (d *Daemon) stop() error {
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
	if d.cmd == nil {
		return nil
	}
	cmd, exited := d.cmd, d.exited
	d.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("containerd ignored SIGTERM for %s and was killed", stopTimeout)
}

// logTail returns the end of the daemon's log, for failure messages.
func (d *Daemon) logTail() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(no containerd log: %v)", err)
	}
	const max = 4096
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "containerd log (tail of " + d.logPath + "):\n" + string(b)
}
