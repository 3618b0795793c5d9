package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Defaults of Config, also the defaults of the server's pod_cidr and
// node_cidr_mask.
var DefaultClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")

const DefaultNodeMask = 24

// Config is what the controller needs; Client and Informers are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder // nil discards events
	Log       *slog.Logger
	// ClusterCIDR is the cluster pod CIDR (DefaultClusterCIDR when
	// invalid/zero).
	ClusterCIDR netip.Prefix
	// NodeMask is the prefix length of each node's CIDR (DefaultNodeMask
	// when zero).
	NodeMask int
}

// Controller assigns pod CIDRs to nodes. Make one with New and call Run
// once.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	log      *slog.Logger
	nodes    corelisters.NodeLister
	synced   cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex // guards alloc and reported; the queue's one worker and Run share them
	alloc    *Allocator
	reported map[string]string // node → CIDR already reported as not recorded
	err      error             // from NewAllocator, reported by Run
}

// New registers the node informer and returns without starting anything.
// A bad ClusterCIDR/NodeMask pair is reported by Run.
func New(cfg Config) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{} // a nil Events channel drops events
	}
	if !cfg.ClusterCIDR.IsValid() {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if cfg.NodeMask == 0 {
		cfg.NodeMask = DefaultNodeMask
	}
	c := &Controller{
		client:   cfg.Client,
		recorder: cfg.Recorder,
		log:      cfg.Log.With("component", "node-ipam"),
		reported: map[string]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodeipam"}),
	}
	c.alloc, c.err = NewAllocator(cfg.ClusterCIDR, cfg.NodeMask)
	inf := cfg.Informers.Core().V1().Nodes()
	c.nodes, c.synced = inf.Lister(), inf.Informer().HasSynced
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// Run waits for the node informer, rebuilds the allocation from every
// node's recorded CIDR, then assigns CIDRs until ctx ends. It returns an
// error only for an unusable configuration.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if c.err != nil {
		return fmt.Errorf("node ipam: %w", c.err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil
	}
	if err := c.rebuild(); err != nil {
		return fmt.Errorf("node ipam: %w", err)
	}
	done := make(chan struct{})
	// One worker: allocation order is then the queue's order, and the
	// allocator lock is never contended.
	go func() {
		defer close(done)
		for c.processNext(ctx) {
		}
	}()
	<-ctx.Done()
	c.queue.ShutDown()
	<-done
	return nil
}

// rebuild records every node's CIDR before anything is allocated, in name
// order so a conflict is reported the same way on every leader.
func (c *Controller) rebuild() error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		c.occupyLocked(n)
	}
	c.log.Info("started", "nodes", len(nodes), "cidrs_in_use", c.alloc.Used())
	return nil
}

// occupyLocked records n's CIDR if it has one and reports whether it has.
func (c *Controller) occupyLocked(n *corev1.Node) bool {
	if n.Spec.PodCIDR == "" {
		return false
	}
	p, err := netip.ParsePrefix(n.Spec.PodCIDR)
	if err == nil {
		err = c.alloc.Occupy(n.Name, p)
	}
	if err != nil {
		// A CIDR outside the cluster CIDR (set by hand or under an old
		// configuration) is the node's; the allocator cannot hand it out
		// anyway. A duplicate is reported, never "fixed": the API does
		// not allow changing a podCIDR.
		// Reported once per node and CIDR: every status write of the node
		// brings it back here.
		if _, ok := c.alloc.Of(n.Name); !ok && c.reported[n.Name] != n.Spec.PodCIDR {
			c.reported[n.Name] = n.Spec.PodCIDR
			c.log.Warn("node pod CIDR not recorded", "node", n.Name, "cidr", n.Spec.PodCIDR, "err", err)
			c.recorder.Eventf(n, corev1.EventTypeWarning, "CIDRNotRecorded", "pod CIDR %s: %v", n.Spec.PodCIDR, err)
		}
	}
	return true
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		if ctx.Err() == nil && !apierrors.IsConflict(err) {
			c.log.Warn("assign pod CIDR", "node", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// sync gives the node a CIDR if it has none, or releases the CIDR of a
// deleted node.
func (c *Controller) sync(ctx context.Context, name string) error {
	n, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.reported, name)
		if p, ok := c.alloc.Of(name); ok {
			c.alloc.Release(name)
			c.log.Info("released pod CIDR of deleted node", "node", name, "cidr", p)
		}
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.occupyLocked(n) {
		c.mu.Unlock()
		return nil
	}
	// The reservation is kept by node name if the write fails, so a retry
	// offers the same CIDR and a deleted node releases it.
	p, err := c.alloc.Allocate(name)
	c.mu.Unlock()
	if errors.Is(err, ErrFull) {
		c.recorder.Eventf(n, corev1.EventTypeWarning, "CIDRNotAvailable", "node %s: %v", name, err)
		return err
	}
	upd := n.DeepCopy()
	upd.Spec.PodCIDR, upd.Spec.PodCIDRs = p.String(), []string{p.String()}
	if _, err := c.client.CoreV1().Nodes().Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("assign %v to node %s: %w", p, name, err)
	}
	c.log.Info("assigned pod CIDR", "node", name, "cidr", p)
	return nil
}
