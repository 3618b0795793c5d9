package kubedns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiffhq/skiff/clusterdns"
)

// Config is what the controller needs; every field but Log is required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// ClusterIP is the servers' cluster_dns.
	ClusterIP netip.Addr
	Log       *slog.Logger
}

// Controller keeps the kube-dns Service and its EndpointSlices. Make one
// with New and call Run once.
type Controller struct {
	client kubernetes.Interface
	ip     netip.Addr
	log    *slog.Logger
	nodes  corelisters.NodeLister
	svcs   corelisters.ServiceLister
	slices discoverylisters.EndpointSliceLister
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
}

// key is the queue's only key: every change leads to one full sync.
const key = clusterdns.ServiceNamespace + "/" + clusterdns.ServiceName

// New registers its informers and returns without starting anything.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("kube-dns: Client and Informers are required")
	}
	if !cfg.ClusterIP.IsValid() {
		return nil, errors.New("kube-dns: ClusterIP (cluster_dns) is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		client: cfg.Client, ip: cfg.ClusterIP, log: cfg.Log.With("component", "kube-dns"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kube-dns"}),
	}
	enqueue := func(any) { c.queue.Add(key) }
	ours := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, ok := obj.(metav1.Object); ok && m.GetNamespace() == clusterdns.ServiceNamespace &&
			(m.GetName() == clusterdns.ServiceName || m.GetLabels()[discoveryv1.LabelServiceName] == clusterdns.ServiceName) {
			c.queue.Add(key)
		}
	}
	nodes := cfg.Informers.Core().V1().Nodes()
	svcs := cfg.Informers.Core().V1().Services()
	slices := cfg.Informers.Discovery().V1().EndpointSlices()
	c.nodes, c.svcs, c.slices = nodes.Lister(), svcs.Lister(), slices.Lister()
	c.synced = []cache.InformerSynced{nodes.Informer().HasSynced, svcs.Informer().HasSynced, slices.Informer().HasSynced}
	// A node matters only when it comes, goes or changes its pod CIDR.
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, DeleteFunc: enqueue,
		UpdateFunc: func(o, n any) {
			on, ok1 := o.(*corev1.Node)
			nn, ok2 := n.(*corev1.Node)
			if !ok1 || !ok2 || on.Spec.PodCIDR != nn.Spec.PodCIDR {
				c.queue.Add(key)
			}
		},
	})
	for _, inf := range []cache.SharedIndexInformer{svcs.Informer(), slices.Informer()} {
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: ours, DeleteFunc: ours, UpdateFunc: func(_, n any) { ours(n) },
		})
	}
	return c, nil
}

// Run syncs until ctx ends and returns nil then.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	c.queue.Add(key)
	done := make(chan struct{})
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

func (c *Controller) processNext(ctx context.Context) bool {
	k, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(k)
	if err := c.sync(ctx); err != nil {
		if ctx.Err() == nil {
			c.log.Warn("sync failed; retrying", "err", err)
		}
		c.queue.AddRateLimited(k)
		return true
	}
	c.queue.Forget(k)
	return true
}

// sync makes the Service and its slices what they should be, from the
// informers' view. Writes that race with another writer fail with a
// conflict and the key is retried after re-reading.
func (c *Controller) sync(ctx context.Context) error {
	want := Service(c.ip)
	svc, err := c.svcs.Services(want.Namespace).Get(want.Name)
	switch {
	case apierrors.IsNotFound(err):
		svc, err = c.client.CoreV1().Services(want.Namespace).Create(ctx, want, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create service %s: %w", key, err)
		}
		c.log.Info("created the cluster DNS service", "clusterIP", c.ip)
	case err != nil:
		return err
	case svc.Spec.ClusterIP != want.Spec.ClusterIP:
		// The ClusterIP is immutable: a changed cluster_dns needs a new
		// Service. The next sync (the delete's event) creates it.
		c.log.Warn("the cluster DNS service has another ClusterIP than cluster_dns; replacing it",
			"have", svc.Spec.ClusterIP, "want", c.ip)
		uid := svc.UID
		err := c.client.CoreV1().Services(want.Namespace).Delete(ctx, want.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete service %s: %w", key, err)
		}
		return nil
	case serviceDrifted(svc, want):
		upd := svc.DeepCopy()
		upd.Spec.Selector, upd.Spec.InternalTrafficPolicy, upd.Spec.Ports = nil, want.Spec.InternalTrafficPolicy, want.Spec.Ports
		if svc, err = c.client.CoreV1().Services(want.Namespace).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update service %s: %w", key, err)
		}
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	return c.syncSlices(ctx, Slices(svc, nodes))
}

// syncSlices creates, updates and deletes this controller's slices so
// that exactly want exist.
func (c *Controller) syncSlices(ctx context.Context, want []*discoveryv1.EndpointSlice) error {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: clusterdns.ServiceName, discoveryv1.LabelManagedBy: ManagedBy})
	have, err := c.slices.EndpointSlices(clusterdns.ServiceNamespace).List(sel)
	if err != nil {
		return err
	}
	api := c.client.DiscoveryV1().EndpointSlices(clusterdns.ServiceNamespace)
	byName := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range have {
		byName[s.Name] = s
	}
	var errs []error
	for _, w := range want {
		h, ok := byName[w.Name]
		delete(byName, w.Name)
		switch {
		case !ok:
			if _, err := api.Create(ctx, w, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("create endpointslice %s: %w", w.Name, err))
			}
		case !equality.Semantic.DeepEqual(h.Endpoints, w.Endpoints) || !equality.Semantic.DeepEqual(h.Ports, w.Ports) ||
			!equality.Semantic.DeepEqual(h.OwnerReferences, w.OwnerReferences):
			upd := h.DeepCopy()
			upd.Endpoints, upd.Ports, upd.OwnerReferences, upd.AddressType = w.Endpoints, w.Ports, w.OwnerReferences, w.AddressType
			if _, err := api.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("update endpointslice %s: %w", w.Name, err))
			}
		}
	}
	for name := range byName {
		if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete endpointslice %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
