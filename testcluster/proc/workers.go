package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/skiffhq/skiff/internal/containerdproc"
	"github.com/skiffhq/skiff/internal/logtail"
	"github.com/skiffhq/skiff/internal/netns"
	"github.com/skiffhq/skiff/internal/netsim"
)

// Ports every worker listens on, at its own address.
const (
	WorkerGossipPort = 7947
	WorkerListenPort = 10250
)

// worker is one `skiff worker` process with its network namespace (a
// host on the cluster's switch) and its private containerd inside it.
type worker struct {
	host *netsim.Host
	ctrd *containerdproc.Daemon
	proc *process // nil while the worker is not running; guarded by Cluster.mu

	ns     *netns.NS    // opened by WorkerHTTPClient; guarded by Cluster.mu
	client *http.Client // guarded by Cluster.mu
}

// WorkerName returns worker i's node name: w1, w2, ...
func WorkerName(i int) string { return fmt.Sprintf("w%d", i+1) }

// Workers returns the number of workers.
func (c *Cluster) Workers() int { return len(c.workers) }

// WorkerAddr returns worker i's address, its node's InternalIP.
func (c *Cluster) WorkerAddr(i int) netip.Addr { return c.workers[i].host.Addr }

// WorkerNetNS returns the path of worker i's network namespace.
func (c *Cluster) WorkerNetNS(i int) string { return "/run/netns/" + c.workers[i].host.NS }

// WorkerDataDir returns worker i's data directory.
func (c *Cluster) WorkerDataDir(i int) string {
	return filepath.Join(c.opts.Dir, WorkerName(i), "data")
}

// WorkerLogPath returns the file worker i's output goes to (all its runs).
func (c *Cluster) WorkerLogPath(i int) string {
	return filepath.Join(c.opts.Dir, WorkerName(i), "worker.log")
}

func (c *Cluster) workerConfigPath(i int) string {
	return filepath.Join(c.opts.Dir, WorkerName(i), "worker.yaml")
}

// addWorkers makes each worker's namespace and containerd, writes its
// configuration and images, and starts it. The servers must be ready:
// the workers are given the cluster CA a server wrote.
func (c *Cluster) addWorkers() error {
	for i := range c.opts.Workers {
		h, err := c.net.AddHost(WorkerName(i))
		if err != nil {
			return err
		}
		w := &worker{host: h}
		c.workers = append(c.workers, w)
		// Pods on one node reach pods on the other through the nodes:
		// each worker routes (netproxy/routes) and so must forward.
		if err := nsExec(h.NS, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
			return err
		}
		// A node has a default route: without one, connecting to a
		// ClusterIP (a virtual address no interface has) fails before
		// netproxy's output rules could DNAT it. The test's own address
		// on the switch stands for the router.
		if err := nsExec(h.NS, "ip", "route", "add", "default", "via", c.local.Addr.String()); err != nil {
			return err
		}
		// A short directory: containerd's socket path must fit 108 bytes.
		dir, err := os.MkdirTemp("", "ctd-"+WorkerName(i)+"-")
		if err != nil {
			return err
		}
		d, err := containerdproc.Start(containerdproc.Options{Dir: dir, NetNS: c.WorkerNetNS(i)})
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("containerd of %s: %w", WorkerName(i), err)
		}
		w.ctrd = d
		if err := c.writeWorkerConfig(i); err != nil {
			return err
		}
		if err := c.StartWorker(i); err != nil {
			return err
		}
	}
	return nil
}

// nsExec runs a command inside the named network namespace (ip netns
// exec, so it suits only commands that need no cgroup mounts).
func nsExec(ns string, args ...string) error {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s in %s: %w: %s", strings.Join(args, " "), ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) writeWorkerConfig(i int) error {
	w := c.workers[i]
	data := c.WorkerDataDir(i)
	if err := os.MkdirAll(filepath.Join(data, "images"), 0o755); err != nil {
		return err
	}
	for _, img := range c.opts.WorkerImages {
		if err := copyFile(img, filepath.Join(data, "images", filepath.Base(img))); err != nil {
			return fmt.Errorf("image for %s: %w", WorkerName(i), err)
		}
	}
	var join []string
	for _, h := range c.hosts {
		join = append(join, fmt.Sprintf("%q", netip.AddrPortFrom(h.Addr, GossipPort)))
	}
	ca := ""
	for s := range c.hosts {
		if _, err := os.Stat(filepath.Join(c.DataDir(s), "ca.crt")); err == nil {
			ca = filepath.Join(c.DataDir(s), "ca.crt")
			break
		}
	}
	if ca == "" {
		return errors.New("proc: no server has written ca.crt; start workers after the servers are ready")
	}
	a := w.host.Addr
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ndata_dir: %s\njoin: [%s]\ntoken: %s\nca_file: %s\n", WorkerName(i), data, strings.Join(join, ", "), c.token, ca)
	fmt.Fprintf(&b, "containerd_socket: %s\naddress: %s\n", w.ctrd.Address, a)
	fmt.Fprintf(&b, "gossip_addr: %s\nlisten_addr: %s\n", netip.AddrPortFrom(a, WorkerGossipPort), netip.AddrPortFrom(a, WorkerListenPort))
	fmt.Fprintf(&b, "cni_bin_dir: %s\nlease_renew: 1s\nlog_level: info\n", cniBinDir)
	return os.WriteFile(c.workerConfigPath(i), []byte(b.String()), 0o600)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	return errors.Join(err, dst.Close())
}

// StartWorker starts worker i from its configuration and data directory
// inside its network namespace. It does not wait for the node to be
// Ready (see WaitWorkersReady).
func (c *Cluster) StartWorker(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.workers[i]
	if w.proc != nil {
		return fmt.Errorf("worker %s is running", WorkerName(i))
	}
	// nsenter enters only the network namespace: `ip netns exec` would
	// also remount /sys, hiding the cgroup mounts the worker's runc needs.
	cmd := exec.Command("nsenter", "--net="+c.WorkerNetNS(i), "--", c.opts.Binary, "worker", "--config", c.workerConfigPath(i))
	cmd.Env = append(os.Environ(), c.opts.Env...)
	p, err := spawn(cmd, c.WorkerLogPath(i), "", func(p *process) {
		c.mu.Lock()
		if w.proc == p {
			w.proc = nil
		}
		c.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", WorkerName(i), err)
	}
	w.proc = p
	return nil
}

// WorkerRunning reports whether worker i's process is alive.
func (c *Cluster) WorkerRunning(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.workers[i].proc != nil
}

// KillWorker sends worker i SIGKILL and waits for the process to go. Its
// containerd and containers keep running, as on a node whose agent
// crashed; to the cluster the node is gone once its Lease and gossip
// lapse.
func (c *Cluster) KillWorker(i int) {
	c.mu.Lock()
	p := c.workers[i].proc
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// StopWorker sends worker i SIGTERM and waits for it to exit (SIGKILL
// after 15 s, reported as an error). Its containers keep running; a
// worker started again adopts them.
func (c *Cluster) StopWorker(i int) error {
	c.mu.Lock()
	p := c.workers[i].proc
	c.mu.Unlock()
	return stop(p)
}

// WorkerLogTail returns the last n lines of worker i's log.
func (c *Cluster) WorkerLogTail(i, n int) string { return logtail.Lines(c.WorkerLogPath(i), n) }

// closeWorkers kills every worker, then every container its containerd
// runs, stops the containerd and unmounts what the pods left.
func (c *Cluster) closeWorkers() error {
	var errs []error
	for i, w := range c.workers {
		c.KillWorker(i)
		if w.ctrd == nil {
			continue
		}
		if cl := w.ctrd.Client(); cl != nil {
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			errs = append(errs, killTasks(ctx, cl))
			cancel()
		}
		errs = append(errs, w.ctrd.Stop())
		errs = append(errs, unmountUnder(w.ctrd.Dir()), unmountUnder(c.WorkerDataDir(i)))
		errs = append(errs, os.RemoveAll(w.ctrd.Dir()))
		w.ctrd = nil
		c.mu.Lock()
		if w.ns != nil {
			errs = append(errs, w.ns.Close())
			w.ns, w.client = nil, nil
		}
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}
