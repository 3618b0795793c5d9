package replicaset

import (
	"sync"
	"time"
)

// expectationsTTL bounds how long a sync waits for writes it never sees
// observed (a watch event lost to a relist), as Kubernetes' 5 minutes.
const expectationsTTL = 5 * time.Minute

// expectations records, per ReplicaSet key, the pod creations and
// deletions the controller has issued and not yet seen in its informer.
// While any are outstanding the ReplicaSet's pod count in the cache is
// stale, and a sync only refreshes status. Safe for concurrent use by the
// workers and the informer handlers.
type expectations struct {
	mu sync.Mutex
	m  map[string]*expected
}

type expected struct {
	creates int
	deletes map[string]bool // pod keys
	at      time.Time
}

func newExpectations() *expectations { return &expectations{m: map[string]*expected{}} }

// satisfied reports whether key has no outstanding writes (or they are
// older than expectationsTTL).
func (e *expectations) satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if (x.creates <= 0 && len(x.deletes) == 0) || now.Sub(x.at) > expectationsTTL {
		delete(e.m, key)
		return true
	}
	return false
}

func (e *expectations) expectCreates(key string, n int, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expected{creates: n, deletes: map[string]bool{}, at: now}
}

func (e *expectations) expectDeletes(key string, pods []string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{deletes: map[string]bool{}, at: now}
	for _, p := range pods {
		x.deletes[p] = true
	}
	e.m[key] = x
}

// created records that one pod of key was created (observed, or the
// create failed so it never will be).
func (e *expectations) created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.creates--
	}
}

// deleted records that pod of key is gone or going.
func (e *expectations) deleted(key, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, pod)
	}
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
