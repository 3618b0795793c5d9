package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Config is what the controller needs; Client and Informers are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder receives an Event on a Service whose endpoints could not be
	// written; nil discards them.
	Recorder record.EventRecorder
	Log      *slog.Logger
	// Workers is the number of Services reconciled at once; default 2.
	Workers int
}

// Controller keeps EndpointSlices and Endpoints of Services. Make one with
// New and call Run once.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	log      *slog.Logger
	workers  int

	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	slices    discoverylisters.EndpointSliceLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
}

// New registers the controller's informers (services, pods, endpoint
// slices, endpoints) with cfg.Informers and returns without starting
// anything; the caller starts the factory after every New.
func New(cfg Config) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{} // a nil Events channel drops events
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	f := cfg.Informers
	c := &Controller{
		client:   cfg.Client,
		recorder: cfg.Recorder,
		log:      cfg.Log.With("component", "endpoints-controller"),
		workers:  cfg.Workers,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoints"}),
	}
	svcInf := f.Core().V1().Services()
	podInf := f.Core().V1().Pods()
	sliceInf := f.Discovery().V1().EndpointSlices()
	epInf := f.Core().V1().Endpoints()
	c.services, c.pods, c.slices, c.endpoints = svcInf.Lister(), podInf.Lister(), sliceInf.Lister(), epInf.Lister()
	c.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, podInf.Informer().HasSynced,
		sliceInf.Informer().HasSynced, epInf.Informer().HasSynced}

	// Registration fails only on a stopped informer, which a fresh factory
	// never has.
	_, _ = svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueObject,
		UpdateFunc: func(_, obj any) { c.enqueueObject(obj) },
		DeleteFunc: c.enqueueObject,
	})
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueuePodServices(obj) },
		UpdateFunc: func(old, obj any) { c.enqueuePodServices(old, obj) },
		DeleteFunc: func(obj any) { c.enqueuePodServices(obj) },
	})
	// Slices and Endpoints changed or deleted by someone else are put back.
	_, _ = sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueSliceService,
		UpdateFunc: func(_, obj any) { c.enqueueSliceService(obj) },
		DeleteFunc: c.enqueueSliceService,
	})
	_, _ = epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.enqueueObject(obj) },
		DeleteFunc: c.enqueueObject,
	})
	return c
}

// Run waits for the informers to sync, reconciles Services until ctx ends,
// and returns nil.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.log.Info("starting")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil // ctx ended first
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("stopped")
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			c.log.Warn("sync service", "service", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) enqueueObject(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err == nil {
		c.queue.Add(key)
	}
}

// enqueuePodServices queues every Service that selects any of the given
// versions of a pod, so a pod leaving a selector is removed too.
func (c *Controller) enqueuePodServices(objs ...any) {
	for _, obj := range objs {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			continue
		}
		svcs, err := c.services.Services(pod.Namespace).List(labels.Everything())
		if err != nil {
			continue
		}
		for _, svc := range svcs {
			if Selects(svc, pod) {
				c.queue.Add(pod.Namespace + "/" + svc.Name)
			}
		}
	}
}

func (c *Controller) enqueueSliceService(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy {
		return
	}
	if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
		c.queue.Add(s.Namespace + "/" + name)
	}
}

// sync reconciles one Service from the listers.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // never a valid key; retrying cannot help
	}
	svc, err := c.services.Services(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		svc = nil
	case err != nil:
		return err
	}
	var pods []*corev1.Pod
	if svc != nil && managed(svc) {
		if pods, err = c.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector)); err != nil {
			return err
		}
	}
	var desiredSlices []*discoveryv1.EndpointSlice
	var desiredEP *corev1.Endpoints
	if svc != nil {
		desiredSlices = DesiredSlices(svc, pods)
		desiredEP = DesiredEndpoints(svc, pods)
	}
	errSlices := c.syncSlices(ctx, ns, name, desiredSlices)
	errEP := c.syncEndpoints(ctx, ns, name, desiredEP)
	if err := errors.Join(errSlices, errEP); err != nil {
		// Conflicts, and objects created or deleted under the controller,
		// are races the retry resolves, not failures worth an Event.
		if svc != nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
			c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpoints", "write endpoints: %v", err)
		}
		return fmt.Errorf("service %s: %w", key, err)
	}
	return nil
}
