package proc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/internal/logtail"
	"github.com/skiffhq/skiff/internal/netsim"
)

// Ports every server listens on, each at its own address.
const (
	APIPort    = 7443
	RaftPort   = 7001
	GossipPort = 7946
)

// Options configure a Cluster.
type Options struct {
	// Servers is the number of servers and their bootstrap_expect (3).
	Servers int
	// Binary is the skiff binary to run (see Build).
	Binary string
	// Dir holds each server's configuration, data directory and log.
	Dir string
	// Raft holds extra keys of the servers' raft: section, such as
	// "snapshot_threshold": "1024".
	Raft map[string]string
	// Env is added to every server's environment.
	Env []string
	// Log receives the switch's own messages; nil discards them.
	Log *slog.Logger
	// Workers is the number of `skiff worker` processes (0: none), each
	// in its own network namespace on the servers' switch with its own
	// containerd. They need containerd, runc and the CNI plugins (see
	// SkipUnlessWorkers).
	Workers int
	// WorkerImages are OCI image archives copied into every worker's
	// data_dir/images, which the worker imports when it starts.
	WorkerImages []string
}

// Cluster is a set of server processes on a simulated network. Its
// methods may be called from several goroutines.
type Cluster struct {
	opts  Options
	token string
	net   *netsim.Net
	local *netsim.Host
	hosts []*netsim.Host

	mu      sync.Mutex
	procs   []*process // nil while a server is not running
	workers []*worker
	client  *http.Client
}

// Start makes the network, starts every server and waits until all are
// ready. The caller must Close the cluster.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Servers <= 0 {
		opts.Servers = 3
	}
	if opts.Binary == "" || opts.Dir == "" {
		return nil, errors.New("proc: Options.Binary and Options.Dir are required")
	}
	if err := netsim.RemoveStale(); err != nil {
		return nil, err
	}
	subnet, err := netsim.FreeSubnet()
	if err != nil {
		return nil, err
	}
	n, err := netsim.NewNet(netsim.ProcessPrefix(), subnet, opts.Log)
	if err != nil {
		return nil, err
	}
	var tok [16]byte
	rand.Read(tok[:])
	c := &Cluster{opts: opts, token: hex.EncodeToString(tok[:]), net: n, procs: make([]*process, opts.Servers)}
	if c.local, err = n.AddLocal("test"); err != nil {
		n.Close()
		return nil, err
	}
	for i := range opts.Servers {
		h, err := n.AddHost(Name(i))
		if err != nil {
			n.Close()
			return nil, err
		}
		c.hosts = append(c.hosts, h)
	}
	for i := range opts.Servers {
		if err := c.writeConfig(i); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.StartServer(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx, c.All()...); err != nil {
		c.Close()
		return nil, err
	}
	if opts.Workers > 0 {
		if err := c.addWorkers(); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.WaitWorkersReady(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Name returns server i's name: s1, s2, ...
func Name(i int) string { return fmt.Sprintf("s%d", i+1) }

// N returns the number of servers.
func (c *Cluster) N() int { return len(c.hosts) }

// All returns every server's index.
func (c *Cluster) All() []int {
	out := make([]int, c.N())
	for i := range out {
		out[i] = i
	}
	return out
}

// Addr returns server i's address.
func (c *Cluster) Addr(i int) netip.Addr { return c.hosts[i].Addr }

// URL returns server i's API base URL.
func (c *Cluster) URL(i int) string {
	return "https://" + netip.AddrPortFrom(c.hosts[i].Addr, APIPort).String()
}

// Token returns the cluster token; AdminToken the admin bearer token
// derived from it.
func (c *Cluster) Token() string      { return c.token }
func (c *Cluster) AdminToken() string { return auth.AdminToken(c.token) }

// DataDir returns server i's data directory.
func (c *Cluster) DataDir(i int) string { return filepath.Join(c.opts.Dir, Name(i), "data") }

// LogPath returns the file server i's output goes to (all its runs).
func (c *Cluster) LogPath(i int) string { return filepath.Join(c.opts.Dir, Name(i), "server.log") }

func (c *Cluster) configPath(i int) string { return filepath.Join(c.opts.Dir, Name(i), "server.yaml") }

func (c *Cluster) writeConfig(i int) error {
	h := c.hosts[i]
	var join []string
	for j, o := range c.hosts {
		if j != i {
			join = append(join, fmt.Sprintf("%q", netip.AddrPortFrom(o.Addr, GossipPort)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ndata_dir: %s\n", Name(i), c.DataDir(i))
	fmt.Fprintf(&b, "api_addr: %s\n", netip.AddrPortFrom(h.Addr, APIPort))
	fmt.Fprintf(&b, "raft_addr: %s\n", netip.AddrPortFrom(h.Addr, RaftPort))
	fmt.Fprintf(&b, "gossip_addr: %s\n", netip.AddrPortFrom(h.Addr, GossipPort))
	fmt.Fprintf(&b, "bootstrap_expect: %d\njoin: [%s]\ntoken: %s\nlog_level: info\n", c.N(), strings.Join(join, ", "), c.token)
	if len(c.opts.Raft) > 0 {
		b.WriteString("raft:\n")
		keys := make([]string, 0, len(c.opts.Raft))
		for k := range c.opts.Raft {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %s\n", k, c.opts.Raft[k])
		}
	}
	if err := os.MkdirAll(filepath.Dir(c.configPath(i)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.configPath(i), []byte(b.String()), 0o600)
}

// StartServer starts server i from its configuration and data directory,
// with env added to its environment. It does not wait for readiness.
func (c *Cluster) StartServer(i int, env ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.procs[i] != nil {
		return fmt.Errorf("server %s is running", Name(i))
	}
	cmd := c.hosts[i].Command(c.opts.Binary, "server", "--config", c.configPath(i))
	cmd.Env = append(append(os.Environ(), c.opts.Env...), env...)
	p, err := spawn(cmd, c.LogPath(i), strings.Join(env, " "), func(p *process) {
		c.mu.Lock()
		if c.procs[i] == p {
			c.procs[i] = nil
		}
		c.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", Name(i), err)
	}
	c.procs[i] = p
	return nil
}

// Running reports whether server i's process is alive.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[i] != nil
}

// Exited returns a channel closed when the current process of server i
// exits, or nil if none is running.
func (c *Cluster) Exited(i int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[i]; p != nil {
		return p.exited
	}
	return nil
}

// Kill sends server i SIGKILL and waits for the process to go.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends server i SIGTERM and waits for it to exit (SIGKILL after
// 15 s, reported as an error).
func (c *Cluster) Stop(i int) error {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	return stop(p)
}

// Pause freezes server i with SIGSTOP; Resume thaws it with SIGCONT.
func (c *Cluster) Pause(i int) error  { return c.signal(i, syscall.SIGSTOP, true) }
func (c *Cluster) Resume(i int) error { return c.signal(i, syscall.SIGCONT, false) }

func (c *Cluster) signal(i int, sig syscall.Signal, paused bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[i]
	if p == nil {
		return fmt.Errorf("server %s is not running", Name(i))
	}
	p.paused = paused
	return p.cmd.Process.Signal(sig)
}

// Isolate cuts server i off the network (every peer and the test) or
// connects it again.
func (c *Cluster) Isolate(i int, on bool) { c.hosts[i].Port.SetCut(on) }

// Partition cuts server i off the other servers while the test can still
// reach it: a client of an old leader on the wrong side of a partition.
func (c *Cluster) Partition(i int) {
	for j, h := range c.hosts {
		if j != i {
			c.net.Switch().SetLinkCut(c.hosts[i].Port, h.Port, true)
		}
	}
}

// Delay holds every packet to and from server i back by d plus up to
// jitter.
func (c *Cluster) Delay(i int, d, jitter time.Duration) { c.hosts[i].Port.SetDelay(d, jitter) }

// Heal connects every server again, ends partitions, removes delays and resumes paused
// servers. It does not start servers that are down.
func (c *Cluster) Heal() {
	c.net.Switch().HealLinks()
	for i, h := range c.hosts {
		h.Port.SetCut(false)
		h.Port.SetDelay(0, 0)
		c.mu.Lock()
		p := c.procs[i]
		c.mu.Unlock()
		if p != nil && p.paused {
			c.Resume(i)
		}
	}
}

// Close kills every worker (and stops its containerd, containers and
// mounts), then every server, and removes the network.
func (c *Cluster) Close() error {
	err := c.closeWorkers()
	for i := range c.procs {
		c.Kill(i)
	}
	return errors.Join(err, c.net.Close())
}

// LogTail returns the last n lines of server i's log.
func (c *Cluster) LogTail(i, n int) string { return logtail.Lines(c.LogPath(i), n) }

// HTTPClient returns a client that trusts the cluster CA, which exists
// once a server has become ready. Requests should carry their own
// deadlines.
func (c *Cluster) HTTPClient() (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	pool := x509.NewCertPool()
	for i := range c.hosts {
		if pem, err := os.ReadFile(filepath.Join(c.DataDir(i), "ca.crt")); err == nil && pool.AppendCertsFromPEM(pem) {
			c.client = &http.Client{Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
				MaxIdleConnsPerHost: 64,
			}}
			return c.client, nil
		}
	}
	return nil, errors.New("proc: no server has written ca.crt yet")
}

// Do sends a request as admin to server i and returns the status code and
// body.
func (c *Cluster) Do(ctx context.Context, i int, method, path string, body io.Reader) (int, []byte, error) {
	client, err := c.HTTPClient()
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL(i)+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminToken())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
