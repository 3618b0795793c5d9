package nodelifecycle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// LeaseNamespace holds the nodes' heartbeat Leases, one per node, named
// after it.
const LeaseNamespace = corev1.NamespaceNodeLease

// Defaults of Config.
const (
	DefaultLeaseGrace           = 5 * time.Second
	DefaultToleration           = 2 * time.Second
	DefaultMonitorPeriod        = 500 * time.Millisecond
	podsByNodeIndex             = "spec.nodeName"
	defaultWorkers              = 4
	keyPrefixNode, keyPrefixPod = "node/", "pod/"
)

// Config is what the controller needs; Client and Informers are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder // nil discards events
	Log       *slog.Logger
	// Liveness is an optional second source of node liveness (gossip).
	Liveness Liveness
	// Clock is the time source; nil is the real clock.
	Clock clock.WithTicker
	// LeaseGrace is how long a node may go without renewing its Lease
	// (DefaultLeaseGrace).
	LeaseGrace time.Duration
	// StartupGrace is how long after Run starts no node is judged
	// (default LeaseGrace).
	StartupGrace time.Duration
	// DefaultToleration is how long pods without their own toleration of
	// the unreachable NoExecute taint stay on an unreachable node
	// (DefaultToleration).
	DefaultToleration time.Duration
	// MonitorPeriod is the time between two passes (DefaultMonitorPeriod).
	MonitorPeriod time.Duration
}

// Controller is the node lifecycle controller. Make one with New and call
// Run once.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	log      *slog.Logger
	liveness Liveness
	clock    clock.WithTicker
	params   Params
	period   time.Duration

	nodes    corelisters.NodeLister
	leases   coordinationlisters.LeaseLister
	podIndex cache.Indexer
	synced   []cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]

	mu         sync.Mutex
	started    time.Time
	heartbeats map[string]heartbeat // by node name
	disrupted  map[string]bool      // zones last seen disrupted, to log transitions
}

// heartbeat is the last renewTime seen for a node and when, by the
// controller's clock, it was first seen.
type heartbeat struct {
	renew time.Time
	seen  time.Time
}

// New registers the controller's informers (nodes, leases, pods indexed by
// node) and returns without starting anything.
func New(cfg Config) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{} // a nil Events channel drops events
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.LeaseGrace <= 0 {
		cfg.LeaseGrace = DefaultLeaseGrace
	}
	if cfg.StartupGrace <= 0 {
		cfg.StartupGrace = cfg.LeaseGrace
	}
	if cfg.DefaultToleration <= 0 {
		cfg.DefaultToleration = DefaultToleration
	}
	if cfg.MonitorPeriod <= 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	c := &Controller{
		client:     cfg.Client,
		recorder:   cfg.Recorder,
		log:        cfg.Log.With("component", "node-lifecycle-controller"),
		liveness:   cfg.Liveness,
		clock:      cfg.Clock,
		params:     Params{LeaseGrace: cfg.LeaseGrace, StartupGrace: cfg.StartupGrace, DefaultToleration: cfg.DefaultToleration},
		period:     cfg.MonitorPeriod,
		heartbeats: map[string]heartbeat{},
		disrupted:  map[string]bool{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodelifecycle", Clock: cfg.Clock}),
	}
	nodeInf := cfg.Informers.Core().V1().Nodes()
	leaseInf := cfg.Informers.Coordination().V1().Leases()
	podInf := cfg.Informers.Core().V1().Pods().Informer()
	// AddIndexers fails only once the informer has started, which a fresh
	// factory's has not; an indexer another component registered under
	// the same name indexes the same field.
	_ = podInf.AddIndexers(cache.Indexers{podsByNodeIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	c.nodes, c.leases, c.podIndex = nodeInf.Lister(), leaseInf.Lister(), podInf.GetIndexer()
	c.synced = []cache.InformerSynced{nodeInf.Informer().HasSynced, leaseInf.Informer().HasSynced, podInf.HasSynced}
	return c
}

// Run waits for the informers, then judges nodes every MonitorPeriod until
// ctx ends, and returns nil.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.mu.Lock()
	c.started = c.clock.Now()
	c.mu.Unlock()
	c.log.Info("starting", "lease_grace", c.params.LeaseGrace, "startup_grace", c.params.StartupGrace,
		"default_toleration", c.params.DefaultToleration)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	var wg sync.WaitGroup
	for range defaultWorkers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	tick := c.clock.NewTicker(c.period)
	defer tick.Stop()
	for {
		c.pass()
		select {
		case <-ctx.Done():
			c.queue.ShutDown()
			wg.Wait()
			c.log.Info("stopped")
			return nil
		case <-tick.C():
		}
	}
}

// pass decides from the listers and queues a key for each write due.
func (c *Controller) pass() {
	d, err := c.decide()
	if err != nil {
		c.log.Warn("read cluster state", "err", err)
		return
	}
	c.noteDisruptions(d)
	for _, a := range d.Nodes {
		c.queue.Add(keyPrefixNode + a.Node)
	}
	for _, e := range d.Evictions {
		c.queue.Add(keyPrefixPod + e.Pod.String())
	}
}

// decide builds Decide's input from the listers and returns its decision.
// It records heartbeat observations as a side effect.
func (c *Controller) decide() (Decision, error) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return Decision{}, err
	}
	now := c.clock.Now()
	c.mu.Lock()
	in := Input{Now: now, Started: c.started, Params: c.params}
	alive := map[string]bool{}
	for _, n := range nodes {
		alive[n.Name] = true
		lease, err := c.leases.Leases(LeaseNamespace).Get(n.Name)
		if err != nil && !apierrors.IsNotFound(err) {
			c.mu.Unlock()
			return Decision{}, err
		}
		hb := observe(c.heartbeats[n.Name], lease, now)
		c.heartbeats[n.Name] = hb
		ni := NodeInput{Node: n, LastSeen: hb.seen}
		if c.liveness != nil {
			if ok, known := c.liveness.Alive(n.Name); known && !ok {
				ni.Dead = true
			}
		}
		in.Nodes = append(in.Nodes, ni)
	}
	for name := range c.heartbeats {
		if !alive[name] {
			delete(c.heartbeats, name)
		}
	}
	c.mu.Unlock()
	for _, n := range nodes {
		if !hasUnreachableTaint(n) {
			continue
		}
		objs, err := c.podIndex.ByIndex(podsByNodeIndex, n.Name)
		if err != nil {
			return Decision{}, err
		}
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				in.Pods = append(in.Pods, p)
			}
		}
	}
	return Decide(in), nil
}

// observe returns a node's heartbeat record after looking at its Lease: a
// renewTime not seen before counts as a heartbeat now; a node seen for the
// first time counts as having just heartbeated.
func observe(prev heartbeat, lease *coordinationv1.Lease, now time.Time) heartbeat {
	var renew time.Time
	if lease != nil && lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	if prev.seen.IsZero() || !renew.Equal(prev.renew) {
		return heartbeat{renew: renew, seen: now}
	}
	return prev
}

func hasUnreachableTaint(n *corev1.Node) bool {
	_, ok := findTaint(n.Spec.Taints, taintNoExecute)
	return ok
}

// noteDisruptions logs and records an Event when a zone enters or leaves
// the disrupted state.
func (c *Controller) noteDisruptions(d Decision) {
	if !d.Judged {
		return
	}
	now := map[string]Disruption{}
	for _, z := range d.Disruptions {
		now[z.Zone] = z
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for zone, z := range now {
		if !c.disrupted[zone] {
			c.disrupted[zone] = true
			c.log.Warn("zone disrupted: evictions paused", "zone", zone, "unreachable", z.Unreachable, "nodes", z.Total)
			for _, name := range d.Unreachable {
				if n, err := c.nodes.Get(name); err == nil && n.Labels[ZoneLabel] == zone {
					c.recorder.Eventf(n, corev1.EventTypeWarning, "EvictionsPaused",
						"%d of %d nodes in zone %q are unreachable: pods are not evicted", z.Unreachable, z.Total, zone)
				}
			}
		}
	}
	for zone := range c.disrupted {
		if _, ok := now[zone]; !ok {
			delete(c.disrupted, zone)
			c.log.Info("zone no longer disrupted: evictions resume", "zone", zone)
		}
	}
}
