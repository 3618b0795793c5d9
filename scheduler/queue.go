package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Back-off for a pod that could not be scheduled: 1s, doubling, at most
// 10s (kube-scheduler's defaults), counted from its last attempt.
const (
	initialBackoff = time.Second
	maxBackoff     = 10 * time.Second
	// maxUnschedulableWait is how long a pod waits for a cluster event
	// before it is tried again anyway, in case an event that would have
	// helped was missed (kube-scheduler waits 5 minutes).
	maxUnschedulableWait = time.Minute
)

// itemState is where a queued pod is.
type itemState int

const (
	stateActive        itemState = iota // ready, in the priority heap
	stateBackoff                        // waiting for its back-off to end
	stateUnschedulable                  // waiting for a cluster event
	stateInFlight                       // popped, being scheduled
)

// queueItem is one pending pod.
type queueItem struct {
	key      string
	pod      *v1.Pod
	priority int32
	seq      uint64 // arrival order, for FIFO among equal priorities
	attempts int
	last     time.Time // last attempt
	state    itemState
	index    int    // in the active heap
	moveSeq  uint64 // queue.moveSeq when popped
	deleted  bool   // deleted while in flight
	// attempt is the pod object of the attempt in flight, set by pop; the
	// scheduling loop reads it without the lock while add may replace pod.
	attempt *v1.Pod
}

// queue orders pending pods: higher spec.priority first, then first come
// first served. Pods that did not fit wait in back-off or, until the
// cluster changes, in an unschedulable set, so a pod that fits nowhere is
// never retried in a loop. Safe for concurrent use.
type queue struct {
	mu      sync.Mutex
	wake    chan struct{} // signalled when the active heap gains an item
	items   map[string]*queueItem
	active  activeHeap
	seq     uint64
	moveSeq uint64 // bumped by every cluster event that may help
	now     func() time.Time
}

func newQueue(now func() time.Time) *queue {
	return &queue{wake: make(chan struct{}, 1), items: map[string]*queueItem{}, now: now}
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

// add queues a new pending pod, or replaces the object of a queued one.
// specChanged says the update may make the pod fit where it did not (its
// spec or labels changed), which ends its wait for a cluster event.
func (q *queue) add(p *v1.Pod, specChanged bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := podKey(p)
	it, ok := q.items[key]
	if !ok {
		q.seq++
		it = &queueItem{key: key, pod: p, priority: corev1helpers.PodPriority(p), seq: q.seq}
		q.items[key] = it
		q.pushActive(it)
		return
	}
	it.pod = p
	it.priority = corev1helpers.PodPriority(p)
	if it.state == stateActive {
		heap.Fix(&q.active, it.index)
	}
	if specChanged && it.state == stateUnschedulable {
		it.state = stateBackoff
		q.flushLocked()
	}
}

// remove forgets a pod that was deleted or bound.
func (q *queue) remove(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[key]
	if !ok {
		return
	}
	if it.state == stateInFlight {
		it.deleted = true
	}
	if it.state == stateActive {
		heap.Remove(&q.active, it.index)
	}
	delete(q.items, key)
}

func (q *queue) pushActive(it *queueItem) {
	it.state = stateActive
	heap.Push(&q.active, it)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop waits for the highest-priority ready pod and marks it in flight;
// it returns nil when ctx ends.
func (q *queue) pop(ctx context.Context) *queueItem {
	for {
		q.mu.Lock()
		if q.active.Len() > 0 {
			it := heap.Pop(&q.active).(*queueItem)
			it.state = stateInFlight
			it.moveSeq = q.moveSeq
			it.attempt = it.pod
			q.mu.Unlock()
			return it
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		}
	}
}

// done ends an in-flight attempt. A pod that was scheduled (or is gone)
// leaves the queue; one that hit an error goes to back-off; one that fit
// nowhere waits for a cluster event, unless one already happened while it
// was in flight (then it goes to back-off, so the event is not lost).
func (q *queue) done(it *queueItem, outcome attemptOutcome) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cur, ok := q.items[it.key]
	if !ok || cur != it || it.deleted {
		return
	}
	switch outcome {
	case outcomeDone:
		delete(q.items, it.key)
		return
	case outcomeUnschedulable:
		it.attempts++
		it.last = q.now()
		it.state = stateUnschedulable
		if q.moveSeq != it.moveSeq {
			it.state = stateBackoff
		}
	case outcomeError:
		it.attempts++
		it.last = q.now()
		it.state = stateBackoff
	}
}

// attemptOutcome is how one scheduling attempt ended.
type attemptOutcome int

const (
	outcomeDone attemptOutcome = iota
	outcomeUnschedulable
	outcomeError
)

// moveAll is called on a cluster event that may let unschedulable pods
// fit (a node added or changed, a pod deleted): they go to back-off,
// and on to the active heap once their back-off has passed.
func (q *queue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveSeq++
	for _, it := range q.items {
		if it.state == stateUnschedulable {
			it.state = stateBackoff
		}
	}
	q.flushLocked()
}

// flush moves pods whose back-off has passed, and pods that waited too
// long for a cluster event, to the active heap. Run calls it on a ticker.
func (q *queue) flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flushLocked()
}

func (q *queue) flushLocked() {
	now := q.now()
	for _, it := range q.items {
		switch {
		case it.state == stateBackoff && !now.Before(it.last.Add(backoffFor(it.attempts))):
			q.pushActive(it)
		case it.state == stateUnschedulable && now.Sub(it.last) >= maxUnschedulableWait:
			q.pushActive(it)
		}
	}
}

// backoffFor returns the back-off after the given number of failed
// attempts.
func backoffFor(attempts int) time.Duration {
	d := initialBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// len returns the number of queued pods in each state, for tests and logs.
func (q *queue) len() map[itemState]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[itemState]int{}
	for _, it := range q.items {
		out[it.state]++
	}
	return out
}

// activeHeap orders ready pods by priority, then arrival.
type activeHeap []*queueItem

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h activeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *activeHeap) Push(x any) {
	it := x.(*queueItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *activeHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
