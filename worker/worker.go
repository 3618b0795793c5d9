package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/gossip"
)

// Config configures a Worker.
type Config struct {
	Worker  config.Worker
	Runtime Runtime
	// Log receives the worker's logs; nil discards them.
	Log *slog.Logger
	// Services run beside the pods once the node is registered, with the
	// worker's client, until Run's context ends: the node's service proxy
	// and pod routes (package netproxy), which the worker itself does not
	// know. A service that fails is logged and started again.
	Services []Service
}

// Service is work that runs on the node beside its pods.
type Service struct {
	Name string
	Run  func(ctx context.Context, client kubernetes.Interface, node NodeInfo) error
}

// NodeInfo is what a Service learns about its node.
type NodeInfo struct {
	Name    string
	Address string // the InternalIP
}

// Worker is one node agent. Build it with New and run it with Run, once.
type Worker struct {
	cfg  config.Worker
	rt   Runtime
	svcs []Service
	log  *slog.Logger
	// gossipLog is for the gossip agent, which names its own component.
	gossipLog *slog.Logger
	node      nodeSpec

	// Set by Run before anything else uses them.
	gossip  *gossip.Agent
	servers *serverSet
	client  kubernetes.Interface
	nodeUID types.UID
	pods    *podManager

	probeHTTP *http.Client
	// stats samples usage for /stats/summary; boot is the node's boot time.
	stats *statsCollector
	boot  time.Time
	// recorder records pod events; set by Run before pods are synced.
	recorder record.EventRecorder

	healthMu  sync.Mutex
	healthErr error // last runtime health check
	// healthChanged wakes nodeStatusLoop when healthErr flips; capacity 1.
	healthChanged chan struct{}
}

// New checks cfg and returns a Worker that has not started anything.
func New(cfg Config) (*Worker, error) {
	if cfg.Runtime == nil {
		return nil, errors.New("worker: a runtime is required")
	}
	if err := cfg.Worker.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := readMachine()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if host == "" {
		host = cfg.Worker.Name
	}
	_, portStr, _ := net.SplitHostPort(cfg.Worker.ListenAddr)
	port, _ := strconv.Atoi(portStr)
	return &Worker{
		cfg:       cfg.Worker,
		rt:        cfg.Runtime,
		svcs:      cfg.Services,
		log:       log.With("component", "worker", "node", cfg.Worker.Name),
		gossipLog: log.With("node", cfg.Worker.Name),
		node:      nodeSpec{cfg: cfg.Worker, machine: m, hostname: host, port: int32(port)},

		healthChanged: make(chan struct{}, 1),
		probeHTTP:     newProbeClient(),
		stats:         newStatsCollector(cfg.Runtime),
		boot:          bootTime(),
	}, nil
}

// Client returns the worker's client-go client, once Run has registered.
func (w *Worker) Client() kubernetes.Interface { return w.client }

// Run joins the cluster, registers the node and runs pods until ctx ends.
// It returns nil when ctx ends, or the error that stopped it from
// starting. Pods keep running after Run returns: a new Run adopts them.
func (w *Worker) Run(ctx context.Context) error {
	if err := os.MkdirAll(w.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	a, err := startGossip(ctx, w.cfg.Name, w.cfg.GossipAddr, w.cfg.Token, w.cfg.AcceptedTokens, w.cfg.Join, w.gossipLog)
	if err != nil {
		return err
	}
	w.gossip = a
	// A stopping worker does not leave gossip (as Nomad clients do not by
	// default): to the cluster a stop looks like a failure, detected only
	// after memberlist's suspicion timeout (about 5 s), so a restart or
	// an upgrade that is back within it keeps its pods where they are. A
	// worker that is going away for good is drained and its Node deleted.
	defer a.Shutdown()
	cred, err := w.credentials(ctx)
	if err != nil {
		return err
	}
	w.servers = newServerSet(append(slices.Clone(cred.Servers), serverURLs(a)...))
	w.client, err = kubernetes.NewForConfig(restConfig(cred, w.servers))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	w.node.address = w.address()
	w.pods = newPodManager(w)
	ep, err := w.listen([]byte(cred.CA))
	if err != nil {
		return err
	}

	rec, stopEvents := w.startEvents(context.WithoutCancel(ctx))
	w.recorder = rec
	var wg sync.WaitGroup
	defer stopEvents()
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { ep.serve(ctx) })
	wg.Go(func() { w.followServers(ctx) })
	wg.Go(func() { w.healthLoop(ctx) })

	n, err := retry(ctx, w.log, "register node", func() (*corev1.Node, error) { return w.ensureNode(ctx) })
	if err != nil {
		return err
	}
	w.nodeUID = n.UID
	w.log.Info("node registered", "address", w.node.address, "servers", w.servers.all())
	wg.Go(func() { w.leaseLoop(ctx) })
	wg.Go(func() { w.nodeStatusLoop(ctx, n) })
	for _, svc := range w.svcs {
		wg.Go(func() { w.runService(ctx, svc) })
	}

	if err := w.pods.run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// serviceRestart is the pause before a failed Service runs again.
const serviceRestart = 2 * time.Second

// runService runs svc until ctx ends, starting it again after a failure.
func (w *Worker) runService(ctx context.Context, svc Service) {
	node := NodeInfo{Name: w.cfg.Name, Address: w.node.address}
	for {
		err := svc.Run(ctx, w.client, node)
		if ctx.Err() != nil {
			return
		}
		w.log.Error("node service stopped; restarting it", "service", svc.Name, "err", err, "in", serviceRestart)
		select {
		case <-ctx.Done():
			return
		case <-time.After(serviceRestart):
		}
	}
}

// credentials returns the node credential: the one kept in data_dir, or a
// new one from registering with a server gossip names.
func (w *Worker) credentials(ctx context.Context) (*credentials, error) {
	if c, ok := loadCredentials(w.cfg.DataDir, w.cfg.Name); ok {
		return c, nil
	}
	var caPEM []byte
	if w.cfg.CAFile != "" {
		b, err := os.ReadFile(w.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		caPEM = b
	}
	return retry(ctx, w.log, "register with a server", func() (*credentials, error) {
		urls := serverURLs(w.gossip)
		if len(urls) == 0 {
			return nil, errNoServers
		}
		var errs []error
		for _, u := range urls {
			c, err := register(ctx, u, w.cfg.Token, w.cfg.Name, caPEM)
			if err == nil {
				return c, c.save(w.cfg.DataDir)
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	})
}

// address is the node's InternalIP: the configured address, else the
// host gossip advertises.
func (w *Worker) address() string {
	if w.cfg.Address != "" {
		return w.cfg.Address
	}
	host, _, _ := net.SplitHostPort(w.gossip.Addr())
	return host
}

// followServers keeps the client's server list in step with gossip.
func (w *Worker) followServers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.gossip.Changes():
			if urls := serverURLs(w.gossip); len(urls) > 0 {
				w.servers.setServers(urls)
			}
		}
	}
}

// healthLoop checks the runtime every second with a short deadline, so an
// unreachable containerd shows within seconds (in the log and as the
// node's Ready condition) and its return is noticed as quickly.
func (w *Worker) healthLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		_, err := w.runtimeVersion(ctx)
		w.healthMu.Lock()
		was := w.healthErr
		w.healthErr = err
		w.healthMu.Unlock()
		switch {
		case err != nil && was == nil:
			w.log.Error("container runtime unreachable", "err", err)
		case err == nil && was != nil:
			w.log.Info("container runtime is back")
		}
		if (err == nil) != (was == nil) {
			select {
			case w.healthChanged <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runtimeVersion asks the runtime for its version within two seconds.
func (w *Worker) runtimeVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := w.rt.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("containerd at %s: %w", w.cfg.ContainerdSocket, err)
	}
	return v, nil
}

// runtimeHealthy returns the last health check's error.
func (w *Worker) runtimeHealthy() error {
	w.healthMu.Lock()
	defer w.healthMu.Unlock()
	return w.healthErr
}

// nodeStatusLoop re-computes the node status every status_interval, and
// at once when the runtime's health flips, and writes it only when it
// differs from the stored Node (a condition flipped, the runtime version
// changed). Liveness is the Lease's job, not the status's.
func (w *Worker) nodeStatusLoop(ctx context.Context, n *corev1.Node) {
	t := time.NewTicker(w.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.healthChanged:
		}
		n = w.syncNodeStatus(ctx, n)
	}
}

// syncNodeStatus writes the worker's view of the node status when it
// differs from the Node as stored, and returns the Node it last saw. It
// compares with a fresh read, not with what it wrote last: the node
// lifecycle controller sets the conditions to Unknown while the worker is
// gone, possibly just after a restarted worker's first write, and only
// the worker puts them back (as kubelet reads the Node before each status
// update). A failed read falls back to last.
func (w *Worker) syncNodeStatus(ctx context.Context, last *corev1.Node) *corev1.Node {
	n := last
	if fresh, err := w.client.CoreV1().Nodes().Get(ctx, w.cfg.Name, metav1.GetOptions{}); err == nil {
		n = fresh
	}
	err := w.runtimeHealthy()
	version := ""
	if err == nil {
		version = n.Status.NodeInfo.ContainerRuntimeVersion
		if v, verr := w.runtimeVersion(ctx); verr == nil {
			version = v
		}
	}
	st := mergeStatus(n.Status, w.node.status(version, err, metav1.Now()))
	if equality.Semantic.DeepEqual(st, n.Status) {
		return n
	}
	upd := n.DeepCopy()
	upd.Status = st
	out, uerr := w.client.CoreV1().Nodes().UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if uerr != nil {
		w.log.Warn("node status update failed", "err", uerr)
		return n
	}
	return out
}

// retry calls f until it succeeds or ctx ends, with a back-off from 200ms
// doubling to 5s.
func retry[T any](ctx context.Context, log *slog.Logger, what string, f func() (T, error)) (T, error) {
	d := 200 * time.Millisecond
	for {
		v, err := f()
		if err == nil {
			return v, nil
		}
		log.Info(what+" failed; retrying", "err", err, "in", d)
		select {
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(d):
		}
		d = min(2*d, 5*time.Second)
	}
}
