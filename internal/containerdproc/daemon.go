package containerdproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd"

	"github.com/skiffhq/skiff/internal/childproc"
)

// StartTimeout bounds how long Start and Restart wait for the daemon to
// answer. Without the CRI plugin containerd 1.6 answers in well under a
// second; the margin is for a loaded two-core machine.
const StartTimeout = 30 * time.Second

// stopTimeout bounds the wait for a SIGTERMed daemon before SIGKILL.
const stopTimeout = 10 * time.Second

// maxSocketPath is the longest unix socket path the kernel accepts.
const maxSocketPath = 107

// Daemon is one private containerd. Its exported fields are fixed for its
// lifetime, across Restart. Its methods must not run concurrently with
// each other.
type Daemon struct {
	// Address is the grpc socket, for containerd.New and for the worker's
	// config.
	Address string
	// Root and State are the daemon's root and state directories.
	Root, State string
	// Snapshotter is "overlayfs" when the host supports it and "native"
	// otherwise. Namespaces made with Namespace default to it.
	Snapshotter string
	// RuncRoot is a private directory for runc's state; pass it as the
	// runc runtime option Root to keep containers apart from other
	// daemons' containers of the same namespace and ID.
	RuncRoot string

	dir     string
	cfgPath string
	logPath string
	netns   string

	cmd    *exec.Cmd
	exited <-chan struct{} // closed when cmd has been waited for
	client *containerd.Client
}

// Options configure Start.
type Options struct {
	// Dir holds everything the daemon writes. Its path must be short:
	// the socket inside it must fit a unix socket path (108 bytes).
	Dir string
	// NetNS, when set, runs the daemon inside the network namespace at
	// this path (a /run/netns/NAME file) through nsenter, entering only
	// the network namespace: `ip netns exec` also remounts /sys, which
	// hides the cgroup v1 mounts runc needs.
	NetNS string
}

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

// Start starts a daemon in opts.Dir and returns once it answers, with a
// connected client.
func Start(opts Options) (*Daemon, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		Address:  filepath.Join(dir, "c.sock"),
		Root:     filepath.Join(dir, "root"),
		State:    filepath.Join(dir, "state"),
		RuncRoot: filepath.Join(dir, "runc"),
		dir:      dir,
		cfgPath:  filepath.Join(dir, "config.toml"),
		logPath:  filepath.Join(dir, "containerd.log"),
		netns:    opts.NetNS,
	}
	if len(d.Address+".ttrpc") > maxSocketPath {
		return nil, fmt.Errorf("containerd directory %s is too deep: its socket path would exceed %d bytes", dir, maxSocketPath)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.cfgPath, []byte(configTOML(d)), 0o600); err != nil {
		return nil, fmt.Errorf("write containerd config: %w", err)
	}
	if err := d.start(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, d.LogTail())
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	snap, err := pickSnapshotter(ctx, d.client)
	if err != nil {
		d.Stop()
		return nil, fmt.Errorf("%w\n%s", err, d.LogTail())
	}
	d.Snapshotter = snap
	return d, nil
}

// Client returns the client connected to the daemon. Restart replaces it
// (and closes the old one).
func (d *Daemon) Client() *containerd.Client { return d.client }

// Dir is the directory holding the daemon's files.
func (d *Daemon) Dir() string { return d.dir }

// LogPath is the file the daemon writes its log to.
func (d *Daemon) LogPath() string { return d.logPath }

// Restart stops the daemon with SIGTERM, as a service manager would, and
// starts it again on the same config, root and state. Running tasks
// survive: their shims outlive the daemon, which reconnects to them.
func (d *Daemon) Restart() error {
	if err := d.Stop(); err != nil {
		return err
	}
	return d.start()
}

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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// If this process dies, the daemon goes with it rather than holding
	// its sockets and mounts; but only then (see package childproc: a
	// plain Pdeathsig killed the daemon whenever the worker made a pod
	// network namespace on the thread that had forked it).
	exited, err := childproc.StartDying(cmd)
	if err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	d.cmd, d.exited = cmd, exited
	c, err := waitReady(d.Address, exited)
	if err != nil {
		_ = d.Stop()
		return err
	}
	d.client = c
	return nil
}

// waitReady dials the socket until the daemon answers, it exits, or
// StartTimeout passes.
func waitReady(address string, exited <-chan struct{}) (*containerd.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
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
			return nil, fmt.Errorf("containerd did not answer on %s within %s (last error: %v)", address, StartTimeout, lastErr)
		case <-tick.C:
		}
	}
}

// Stop closes the client and stops the daemon: SIGTERM, then SIGKILL
// after a grace period. Containers keep running (their shims outlive the
// daemon); Start on the same directory finds them again.
func (d *Daemon) Stop() error {
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

// LogTail returns the end of the daemon's log, for error messages.
func (d *Daemon) LogTail() string {
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
