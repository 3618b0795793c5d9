package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	// Workers is how many namespaces are emptied at once (default 2).
	Workers int
	// Recheck is how soon a namespace with content left is looked at
	// again (default 500 ms).
	Recheck time.Duration
}

// Controller is the namespace controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	lister corelisters.NamespaceLister
	synced cache.InformerSynced
	queue  reconcile.Queue
}

// New requests the Namespace informer and returns the controller without
// starting anything.
func New(cfg Config) *Controller {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	inf := cfg.Informers.Core().V1().Namespaces()
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Log.With("component", "namespace-controller"),
		lister: inf.Lister(),
		synced: inf.Informer().HasSynced,
		queue:  reconcile.NewQueue("namespace"),
	}
	_, _ = inf.Informer().AddEventHandler(reconcile.Enqueuer(c.queue))
	return c
}

// Run waits for the informer, then empties deleted namespaces until ctx
// ends.
func (c *Controller) Run(ctx context.Context) error {
	if !reconcile.WaitForSync(ctx, c.synced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("namespace: informer did not sync")
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	reconcile.Run(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return nil
	}
	resources, err := c.namespacedResources()
	if err != nil {
		return err
	}
	left := 0
	var errs []error
	for _, r := range resources {
		n, err := c.empty(ctx, name, r)
		if err != nil {
			errs = append(errs, err)
		}
		left += n
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if left > 0 {
		c.log.Debug("namespace not empty yet", "namespace", name, "objects", left)
		c.queue.AddAfter(name, c.cfg.Recheck)
		return nil
	}
	next := ns.DeepCopy()
	next.Spec.Finalizers = slices.DeleteFunc(next.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	if _, err := c.cfg.Client.CoreV1().Namespaces().Finalize(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.log.Info("namespace emptied", "namespace", name)
	return nil
}

// namespacedResources lists, from discovery, the namespaced resources
// that can be listed and deleted as a collection.
func (c *Controller) namespacedResources() ([]schema.GroupVersionResource, error) {
	lists, err := c.cfg.Client.Discovery().ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discover namespaced resources: %w", err)
	}
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "deletecollection") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	return out, nil
}

func collectionPath(ns string, r schema.GroupVersionResource) string {
	if r.Group == "" {
		return "/api/" + r.Version + "/namespaces/" + ns + "/" + r.Resource
	}
	return "/apis/" + r.Group + "/" + r.Version + "/namespaces/" + ns + "/" + r.Resource
}

// empty deletes the objects of one resource in ns and returns how many
// are still there afterwards.
func (c *Controller) empty(ctx context.Context, ns string, r schema.GroupVersionResource) (int, error) {
	rc := c.cfg.Client.CoreV1().RESTClient()
	path := collectionPath(ns, r)
	bg := metav1.DeletePropagationBackground
	err := rc.Delete().AbsPath(path).Body(&metav1.DeleteOptions{PropagationPolicy: &bg}).Do(ctx).Error()
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return 0, fmt.Errorf("delete %s in %s: %w", r.Resource, ns, err)
	}
	raw, err := rc.Get().AbsPath(path).Param("limit", "1").DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list %s in %s: %w", r.Resource, ns, err)
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0, fmt.Errorf("decode %s in %s: %w", r.Resource, ns, err)
	}
	return len(list.Items), nil
}
