package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/controller/internal/reconcile"
)

// Config is what New needs. Client and Informers are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	Log       *slog.Logger
	// Workers is how many objects are processed at once (default 5).
	Workers int
	// TerminatedPodThreshold is how many Succeeded or Failed pods may
	// exist before the oldest are deleted (default 12500, as Kubernetes;
	// negative disables the pod GC).
	TerminatedPodThreshold int
	// PodGCInterval is how often finished pods are counted (default 20 s,
	// as Kubernetes).
	PodGCInterval time.Duration
	// OrphanQuarantine is how long a pod must have been bound to a node
	// that does not exist before it is deleted (default 40 s, as
	// Kubernetes' pod GC): a node deleted for good leaves no pods behind,
	// one being registered is given time.
	OrphanQuarantine time.Duration
}

// Collector is the garbage collector.
type Collector struct {
	cfg        Config
	log        *slog.Logger
	kinds      []*kind
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	queue      reconcile.Queue
	handlers   reconcile.Handlers
}

// New requests the informers of every kind in Kinds, indexes them by
// owner UID, and returns the collector without starting anything.
func New(cfg Config) *Collector {
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.TerminatedPodThreshold == 0 {
		cfg.TerminatedPodThreshold = 12500
	}
	if cfg.PodGCInterval <= 0 {
		cfg.PodGCInterval = 20 * time.Second
	}
	if cfg.OrphanQuarantine <= 0 {
		cfg.OrphanQuarantine = 40 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{
		cfg:        cfg,
		log:        cfg.Log.With("component", "garbage-collector"),
		kinds:      kindTable(cfg.Informers, cfg.Client),
		podLister:  cfg.Informers.Core().V1().Pods().Lister(),
		nodeLister: cfg.Informers.Core().V1().Nodes().Lister(),
		queue:      reconcile.NewQueue("garbagecollector"),
	}
	for i, k := range c.kinds {
		// A collector built again over running informers (the leader's
		// runner restarts a failed component) finds its index there.
		if _, ok := k.informer.GetIndexer().GetIndexers()[ownerIndex]; !ok {
			if err := k.informer.AddIndexers(cache.Indexers{ownerIndex: ownerUIDs}); err != nil {
				c.log.Error("cannot index by owner", "kind", k.gvk.Kind, "err", err)
			}
		}
		c.handlers.Add(k.informer, c.eventHandlers(i))
	}
	return c
}

// item is a queue key: the kind's index and the object's namespace/name.
func item(kindIdx int, key string) string { return strconv.Itoa(kindIdx) + "|" + key }

func parseItem(s string) (int, string, bool) {
	i, key, ok := strings.Cut(s, "|")
	n, err := strconv.Atoi(i)
	return n, key, ok && err == nil
}

// eventHandlers queue, for every event of an object of kind i: the object
// itself (its owners may be gone, or it may be an owner being deleted),
// its dependents when it is deleted or being deleted, and its owners when
// it goes (a foreground owner may be waiting for it).
func (c *Collector) eventHandlers(i int) cache.ResourceEventHandlerFuncs {
	self := func(obj any) {
		if key, ok := reconcile.Key(obj); ok {
			c.queue.Add(item(i, key))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: self,
		UpdateFunc: func(_, obj any) {
			self(obj)
			if m, ok := obj.(metav1.Object); ok && m.GetDeletionTimestamp() != nil {
				c.enqueueDependents(m.GetUID())
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			m, ok := obj.(metav1.Object)
			if !ok {
				return
			}
			c.enqueueDependents(m.GetUID())
			for _, r := range m.GetOwnerReferences() {
				if ki := c.kindOf(r.APIVersion, r.Kind); ki >= 0 {
					ns := m.GetNamespace()
					if !c.kinds[ki].namespaced {
						ns = ""
					}
					c.queue.Add(item(ki, joinKey(ns, r.Name)))
				}
			}
		},
	}
}

func joinKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func (c *Collector) enqueueDependents(uid any) {
	for i, k := range c.kinds {
		objs, err := k.informer.GetIndexer().ByIndex(ownerIndex, fmt.Sprint(uid))
		if err != nil {
			continue
		}
		for _, o := range objs {
			if key, ok := reconcile.Key(o); ok {
				c.queue.Add(item(i, key))
			}
		}
	}
}

// kindOf returns the index of the watched kind with apiVersion and kind,
// or -1.
func (c *Collector) kindOf(apiVersion, kindName string) int {
	for i, k := range c.kinds {
		if k.gvk.Kind == kindName && k.gvk.GroupVersion().String() == apiVersion {
			return i
		}
	}
	return -1
}

// Run waits for the informers, then collects until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	defer c.handlers.RemoveAll()
	synced := c.handlers.Synced()
	for _, k := range c.kinds {
		synced = append(synced, k.informer.HasSynced)
	}
	if !reconcile.WaitForSync(ctx, synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("garbagecollector: informers did not sync")
	}
	c.log.Info("started", "workers", c.cfg.Workers, "terminated_pod_threshold", c.cfg.TerminatedPodThreshold)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.runPodGC(ctx)
	}()
	reconcile.Run(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	<-done
	return nil
}
