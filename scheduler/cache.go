package scheduler

import (
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
)

// clusterCache is the scheduler's view of the cluster: the informers' nodes and
// bound pods, plus the pods it has decided to place but the informers have
// not yet shown bound ("assumed"). Assuming counts a decision against its
// node at once, so a burst of pods does not pile onto the node that looked
// emptiest while the binds are in flight. An assumption is forgotten when
// its bind fails, or when the informer has not confirmed it within ttl
// after the bind returned (kube-scheduler's assume cache works the same
// way). Safe for concurrent use; placement runs under the lock.
type clusterCache struct {
	mu   sync.Mutex
	snap *Snapshot
	pods map[string]*cachedPod
	ttl  time.Duration
	now  func() time.Time
}

type cachedPod struct {
	info    *PodInfo
	node    string
	assumed bool
	// deadline is when an assumed pod whose bind returned is forgotten
	// unless the informer confirmed it; zero while the bind is in flight.
	deadline time.Time
}

func newCache(ttl time.Duration, now func() time.Time) *clusterCache {
	return &clusterCache{snap: NewSnapshot(nil, nil), pods: map[string]*cachedPod{}, ttl: ttl, now: now}
}

// terminal reports whether a pod no longer holds its node's resources.
func terminal(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// setNode and removeNode follow the node informer.
func (c *clusterCache) setNode(n *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap.SetNode(n)
}

func (c *clusterCache) removeNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap.RemoveNode(name)
}

// setBoundPod follows the informer's view of a pod bound to a node: it
// confirms an assumption, or adds or updates the pod. A terminal pod is
// removed, since it holds no resources.
func (c *clusterCache) setBoundPod(p *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := podKey(p)
	if old, ok := c.pods[key]; ok {
		c.snap.RemovePod(key, old.node)
		delete(c.pods, key)
	}
	if terminal(p) {
		return
	}
	pi := NewPodInfo(p)
	c.snap.AddPod(pi, p.Spec.NodeName)
	c.pods[key] = &cachedPod{info: pi, node: p.Spec.NodeName}
}

// removePod follows a pod deletion.
func (c *clusterCache) removePod(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pods[key]; ok {
		c.snap.RemovePod(key, old.node)
		delete(c.pods, key)
	}
}

// place chooses a node for pi and assumes the decision, under one lock so
// no other decision can take the same room in between.
func (c *clusterCache) place(p *Placer, pi *PodInfo) (Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := p.PlaceInfo(pi, c.snap)
	if err != nil {
		return d, err
	}
	c.assumeLocked(pi, d.Node)
	return d, nil
}

func (c *clusterCache) assumeLocked(pi *PodInfo, node string) {
	if old, ok := c.pods[pi.Key]; ok {
		c.snap.RemovePod(pi.Key, old.node)
	}
	c.snap.AddPod(pi, node)
	c.pods[pi.Key] = &cachedPod{info: pi, node: node, assumed: true}
}

// bindDone starts the confirmation timeout of an assumed pod whose bind
// succeeded.
func (c *clusterCache) bindDone(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[key]; ok && cp.assumed {
		cp.deadline = c.now().Add(c.ttl)
	}
}

// forget drops an assumption whose bind failed. A pod the informer has
// confirmed meanwhile is kept.
func (c *clusterCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[key]; ok && cp.assumed {
		c.snap.RemovePod(key, cp.node)
		delete(c.pods, key)
	}
}

// expire forgets assumptions not confirmed within ttl of their bind and
// returns how many it dropped.
func (c *clusterCache) expire() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := c.now(), 0
	for key, cp := range c.pods {
		if cp.assumed && !cp.deadline.IsZero() && now.After(cp.deadline) {
			c.snap.RemovePod(key, cp.node)
			delete(c.pods, key)
			n++
		}
	}
	return n
}

// isAssumed reports whether the pod is counted as an assumption.
func (c *clusterCache) isAssumed(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp, ok := c.pods[key]
	return ok && cp.assumed
}
