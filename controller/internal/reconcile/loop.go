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
