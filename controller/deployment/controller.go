package deployment

import (
	"context"
	"errors"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/controller/internal/reconcile"
)

// Kind is the group, version and kind of what owns the ReplicaSets.
var Kind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Config is what New needs. Client, Informers and Recorder are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	Log       *slog.Logger
	// Workers is how many deployments sync at once (default 5).
	Workers int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Controller is the Deployment controller.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	dLister   appslisters.DeploymentLister
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     reconcile.Queue
}

// New requests the Deployment, ReplicaSet and Pod informers and returns
// the controller without starting anything.
func New(cfg Config) *Controller {
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dInf := cfg.Informers.Apps().V1().Deployments()
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Log.With("component", "deployment-controller"),
		dLister:   dInf.Lister(),
		rsLister:  rsInf.Lister(),
		podLister: podInf.Lister(),
		synced:    []cache.InformerSynced{dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:     reconcile.NewQueue("deployment"),
	}
	_, _ = dInf.Informer().AddEventHandler(reconcile.Enqueuer(c.queue))
	rsChanged := func(obj any) { c.enqueueOwnerOf(obj) }
	_, _ = rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: rsChanged,
		UpdateFunc: func(oldObj, newObj any) {
			c.enqueueOwnerOf(oldObj)
			c.enqueueOwnerOf(newObj)
		},
		DeleteFunc: rsChanged,
	})
	// Only Recreate waits on pods: the last old pod's deletion lets it
	// scale the new ReplicaSet up.
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.podDeleted})
	return c
}

// Run waits for the informers, then syncs deployments until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !reconcile.WaitForSync(ctx, c.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("deployment: informers did not sync")
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	reconcile.Run(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// enqueueOwnerOf queues the deployment controlling a ReplicaSet, or for an
// orphan every deployment whose selector matches it (to adopt it).
func (c *Controller) enqueueOwnerOf(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if ref.Kind == Kind.Kind {
			c.queue.Add(rs.Namespace + "/" + ref.Name)
		}
		return
	}
	ds, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.queue.Add(d.Namespace + "/" + d.Name)
		}
	}
}

func (c *Controller) podDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	c.enqueueOwnerOf(rs)
}
