package replicaset

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

// Kind is the group, version and kind of what this controller owns pods for.
var Kind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// Config is what New needs. Client, Informers and Recorder are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	Log       *slog.Logger
	// Workers is how many ReplicaSets sync at once (default 5).
	Workers int
	// BurstReplicas caps the pods one sync creates or deletes (default
	// 500, as Kubernetes).
	BurstReplicas int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Controller is the ReplicaSet controller.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	rsLister  appslisters.ReplicaSetLister
	podLister corelisters.PodLister
	synced    []cache.InformerSynced
	queue     reconcile.Queue
	exp       *expectations
}

// New requests the ReplicaSet and Pod informers from cfg.Informers and
// returns the controller without starting anything.
func New(cfg Config) *Controller {
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Log.With("component", "replicaset-controller"),
		rsLister:  rsInf.Lister(),
		podLister: podInf.Lister(),
		synced:    []cache.InformerSynced{rsInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:     reconcile.NewQueue("replicaset"),
		exp:       newExpectations(),
	}
	_, _ = rsInf.Informer().AddEventHandler(reconcile.Enqueuer(c.queue))
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podAdded,
		UpdateFunc: c.podUpdated,
		DeleteFunc: c.podDeleted,
	})
	return c
}

// Run waits for the informers, then syncs ReplicaSets until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !reconcile.WaitForSync(ctx, c.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("replicaset: informers did not sync")
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	reconcile.Run(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// The pod handlers only map a pod to the keys of the ReplicaSets that
// must look again and record what expectations it satisfies; syncs re-read
// everything.

func (c *Controller) podAdded(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// A restarted informer may list a pod already being deleted.
		c.podDeleted(pod)
		return
	}
	if rs := c.controllerOf(pod); rs != nil {
		key := pod.Namespace + "/" + rs.Name
		c.exp.created(key)
		c.queue.Add(key)
		return
	}
	c.enqueueMatching(pod)
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	if pod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
		if rs := c.controllerOf(pod); rs != nil {
			c.exp.deleted(pod.Namespace+"/"+rs.Name, pod.Namespace+"/"+pod.Name)
		}
	}
	if old := c.controllerOf(oldPod); old != nil {
		c.queue.Add(oldPod.Namespace + "/" + old.Name)
	}
	if rs := c.controllerOf(pod); rs != nil {
		c.queue.Add(pod.Namespace + "/" + rs.Name)
		if !IsReady(oldPod) && IsReady(pod) {
			if min := rs.Spec.MinReadySeconds; min > 0 {
				// Check availability once the pod has been ready long enough.
				c.queue.AddAfter(pod.Namespace+"/"+rs.Name, time.Duration(min)*time.Second+time.Second)
			}
		}
		return
	}
	c.enqueueMatching(pod)
}

func (c *Controller) podDeleted(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != Kind.Kind {
		return
	}
	key := pod.Namespace + "/" + ref.Name
	c.exp.deleted(key, pod.Namespace+"/"+pod.Name)
	c.queue.Add(key)
}

// controllerOf returns the ReplicaSet in the cache that controls pod, if
// any (matching UID, so a recreated namesake does not count).
func (c *Controller) controllerOf(pod *corev1.Pod) *appsv1.ReplicaSet {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != Kind.Kind {
		return nil
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// enqueueMatching queues every ReplicaSet whose selector matches an
// orphan pod, so one of them adopts it.
func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	if metav1.GetControllerOfNoCopy(pod) != nil {
		return
	}
	list, err := c.rsLister.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, rs := range list {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		c.queue.Add(rs.Namespace + "/" + rs.Name)
	}
}
