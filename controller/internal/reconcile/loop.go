package reconcile

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue is the work queue of one controller: keys, never objects.
type Queue = workqueue.TypedRateLimitingInterface[string]

// NewQueue returns a queue with client-go's default controller rate
// limiter (per-item exponential backoff from 5 ms, overall token bucket).
func NewQueue(name string) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

// SyncFunc reconciles the object named by key. It must re-read state from
// listers; a returned error requeues the key with backoff.
type SyncFunc func(ctx context.Context, key string) error

// Run drains q with workers goroutines calling fn until ctx is
// cancelled, then shuts q down and returns once every worker is done.
func Run(ctx context.Context, q Queue, workers int, fn SyncFunc, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for work(ctx, q, fn, log) {
			}
		}()
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

func work(ctx context.Context, q Queue, fn SyncFunc, log *slog.Logger) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := fn(ctx, key); err != nil {
		if ctx.Err() != nil {
			return true
		}
		log.Debug("sync failed, requeued", "key", key, "err", err, "retries", q.NumRequeues(key))
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// Key returns the namespace/name key of an informer object, including
// the last state of a deleted one (cache.DeletedFinalStateUnknown).
func Key(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// Enqueuer returns informer handlers that put the key of every added,
// updated and deleted object on q.
func Enqueuer(q Queue) cache.ResourceEventHandlerFuncs {
	add := func(obj any) {
		if k, ok := Key(obj); ok {
			q.Add(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// WaitForSync waits until every informer has synced; it reports false if
// ctx ended first.
func WaitForSync(ctx context.Context, synced ...cache.InformerSynced) bool {
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Handlers remembers the event handlers a controller added to shared
// informers, so that its Run can remove them when it ends: the leader's
// runner may build the controller again over the same, still running,
// informers, and the old handlers must not keep feeding a dead queue.
type Handlers struct {
	regs []registration
}

type registration struct {
	inf cache.SharedInformer
	reg cache.ResourceEventHandlerRegistration
}

// Add adds h to inf and remembers it.
func (hs *Handlers) Add(inf cache.SharedInformer, h cache.ResourceEventHandler) {
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		// Only a stopped informer refuses; its controller never runs.
		return
	}
	hs.regs = append(hs.regs, registration{inf, reg})
}

// Synced returns the HasSynced of every handler added: each reports true
// once its handler has been sent the informer's initial list.
func (hs *Handlers) Synced() []cache.InformerSynced {
	out := make([]cache.InformerSynced, len(hs.regs))
	for i, r := range hs.regs {
		out[i] = r.reg.HasSynced
	}
	return out
}

// RemoveAll removes every remembered handler.
func (hs *Handlers) RemoveAll() {
	for _, r := range hs.regs {
		_ = r.inf.RemoveEventHandler(r.reg)
	}
	hs.regs = nil
}
