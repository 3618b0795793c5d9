package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/controller/internal/reconcile"
)

// Default is the name of the account every namespace gets.
const Default = "default"

// Config is what New needs. Client and Informers are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Log       *slog.Logger
}

// Controller is the service account controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	nsLister corelisters.NamespaceLister
	saLister corelisters.ServiceAccountLister
	synced   []cache.InformerSynced
	queue    reconcile.Queue
}

// New requests the Namespace and ServiceAccount informers and returns the
// controller without starting anything.
func New(cfg Config) *Controller {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	nsInf := cfg.Informers.Core().V1().Namespaces()
	saInf := cfg.Informers.Core().V1().ServiceAccounts()
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Log.With("component", "serviceaccount-controller"),
		nsLister: nsInf.Lister(),
		saLister: saInf.Lister(),
		synced:   []cache.InformerSynced{nsInf.Informer().HasSynced, saInf.Informer().HasSynced},
		queue:    reconcile.NewQueue("serviceaccount"),
	}
	_, _ = nsInf.Informer().AddEventHandler(reconcile.Enqueuer(c.queue))
	_, _ = saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.Name == Default {
			c.queue.Add(sa.Namespace)
		}
	}})
	return c
}

// Run waits for the informers, then keeps the default accounts until ctx
// ends.
func (c *Controller) Run(ctx context.Context) error {
	if !reconcile.WaitForSync(ctx, c.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("serviceaccount: informers did not sync")
	}
	c.log.Info("started")
	reconcile.Run(ctx, c.queue, 2, c.sync, c.log)
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.nsLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if _, err := c.saLister.ServiceAccounts(name).Get(Default); err == nil {
		return nil
	}
	_, err = c.cfg.Client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: Default}}, metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil
	}
	return fmt.Errorf("create service account %s/%s: %w", name, Default, err)
}
