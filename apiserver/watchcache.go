package apiserver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/skiffhq/skiff/fsm"
)

// Watch cache sizing.
const (
	// watchCacheEvents is how many recent events a resource's cache keeps
	// (between this and twice this) for watches that start a little in
	// the past, as informers do after a list. Older starts read the
	// store's watch log directly.
	watchCacheEvents = 4096
	// watchQueueMax bounds the events queued for one watcher that does
	// not keep up; past it the watcher gets 410 Gone, as it would have
	// from the store's watch log, and relists.
	watchQueueMax = 100_000
	// progressInterval is how often an idle cache learns how far the
	// store has gone, so idle watchers' bookmarks move on.
	progressInterval = time.Second
)

// errWatchEnded means a cache stopped (its last watcher left) before a
// watcher could join it: the watcher starts a new one.
var errWatchEnded = errors.New("watch cache ended")

// watchCaches holds one watchCache per resource that has watchers. A
// cache lives as long as it has watchers: the last one to leave stops it.
type watchCaches struct {
	store Store
	mu    sync.Mutex
	byKey map[string]*watchCache // by the resource's key prefix
}

func newWatchCaches(store Store) *watchCaches {
	return &watchCaches{store: store, byKey: map[string]*watchCache{}}
}

// watchCache follows one resource in the store with a single store
// watcher and hands each event, prepared once (watchEvent), to the
// watchers it may concern: every watcher of the resource, except that a
// pod watch with fieldSelector spec.nodeName=X is indexed under X and
// gets only the events whose pod was or is on X. A watcher therefore
// wakes only for its own events.
type watchCache struct {
	res    *Resource
	prefix string
	stop   context.CancelFunc

	mu sync.Mutex
	// ring holds every event after floor, oldest first.
	ring  []*watchEvent
	floor uint64
	// progress is a revision up to which every event has been handed to
	// the watchers.
	progress uint64
	all      map[*watchSub]struct{}
	byNode   map[string]map[*watchSub]struct{}
	subs     int
	ended    error
}

// watchSub is one watcher's place in a cache. Its fields are guarded by
// the cache's mu, except notify.
type watchSub struct {
	c      *watchCache
	prefix string
	node   string
	byNode bool
	start  uint64
	notify chan struct{} // capacity 1: a pending wake-up
	queue  []*watchEvent
	err    error
}

// subscribe adds a watcher of keys under prefix that wants every event
// after start; with byNode, only pod events whose spec.nodeName was or is
// node. ok=false means the cache cannot serve start (older than it keeps,
// or than the store's watch log keeps, which must then answer 410): the
// caller reads the store's watch log directly.
func (cs *watchCaches) subscribe(res *Resource, prefix, node string, byNode bool, start uint64) (sub *watchSub, ok bool) {
	st := cs.store.Store()
	if start < st.CompactRevision() {
		return nil, false
	}
	key := res.KeyPrefix("")
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byKey[key]
	if c == nil {
		from := min(start, st.Rev())
		w, err := st.Watch(key, from)
		if err != nil {
			return nil, false
		}
		ctx, cancel := context.WithCancel(context.Background())
		c = &watchCache{res: res, prefix: key, stop: cancel, floor: from, progress: from,
			all: map[*watchSub]struct{}{}, byNode: map[string]map[*watchSub]struct{}{}}
		cs.byKey[key] = c
		go c.run(ctx, cs, w)
	}
	return c.subscribe(prefix, node, byNode, start)
}

func (c *watchCache) subscribe(prefix, node string, byNode bool, start uint64) (*watchSub, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended != nil || start < c.floor {
		return nil, false
	}
	s := &watchSub{c: c, prefix: prefix, node: node, byNode: byNode, start: start, notify: make(chan struct{}, 1)}
	for _, we := range c.ring {
		if we.rev > start && s.wants(we) {
			s.queue = append(s.queue, we)
		}
	}
	if byNode {
		m := c.byNode[node]
		if m == nil {
			m = map[*watchSub]struct{}{}
			c.byNode[node] = m
		}
		m[s] = struct{}{}
	} else {
		c.all[s] = struct{}{}
	}
	c.subs++
	return s, true
}

func (s *watchSub) wants(we *watchEvent) bool {
	if s.byNode && we.curNode != s.node && we.prevNode != s.node {
		return false
	}
	return we.rev > s.start && strings.HasPrefix(we.key, s.prefix)
}

// next blocks until the watcher has events or an error, or ctx ends
// (then it returns ctx's error). progress is a revision up to which every
// event has been returned, by this or an earlier call.
func (s *watchSub) next(ctx context.Context) (evs []*watchEvent, progress uint64, err error) {
	c := s.c
	for {
		c.mu.Lock()
		evs, s.queue = s.queue, nil
		progress, err = max(c.progress, s.start), s.err
		c.mu.Unlock()
		if len(evs) > 0 || err != nil {
			return evs, progress, err
		}
		select {
		case <-ctx.Done():
			return nil, progress, ctx.Err()
		case <-s.notify:
		}
	}
}

// close removes the watcher; the last one to leave stops the cache.
func (s *watchSub) close(cs *watchCaches) {
	c := s.c
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.byNode {
		if m := c.byNode[s.node]; m != nil {
			if _, ok := m[s]; ok {
				delete(m, s)
				c.subs--
			}
			if len(m) == 0 {
				delete(c.byNode, s.node)
			}
		}
	} else if _, ok := c.all[s]; ok {
		delete(c.all, s)
		c.subs--
	}
	if c.subs == 0 && c.ended == nil {
		c.ended = errWatchEnded
		c.stop()
		if cs.byKey[c.prefix] == c {
			delete(cs.byKey, c.prefix)
		}
	}
}

// run feeds the cache from the store until ctx ends (the last watcher
// left) or the store watch cannot go on (the cache fell behind the
// store's watch log, or the store was restored): then every watcher gets
// 410 Gone and relists, as it would have from the store.
func (c *watchCache) run(ctx context.Context, cs *watchCaches, w *fsm.Watcher) {
	for {
		wctx, cancel := context.WithTimeout(ctx, progressInterval)
		evs, err := w.Next(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, fsm.ErrCompacted):
			c.end(cs, err)
			return
		case err != nil:
			// Idle: only the progress moves.
			c.dispatch(nil, w.Progress())
			continue
		}
		batch := make([]*watchEvent, len(evs))
		for i, ev := range evs {
			batch[i] = newWatchEvent(c.res, ev)
		}
		c.dispatch(batch, w.Progress())
	}
}

// dispatch appends a batch to the ring and queues each event for the
// watchers it concerns, then wakes them.
func (c *watchCache) dispatch(batch []*watchEvent, progress uint64) {
	woken := map[*watchSub]struct{}{}
	c.mu.Lock()
	push := func(s *watchSub, we *watchEvent) {
		if s.err != nil || !s.wants(we) {
			return
		}
		if len(s.queue) >= watchQueueMax {
			s.queue, s.err = nil, fsm.ErrCompacted
		} else {
			s.queue = append(s.queue, we)
		}
		woken[s] = struct{}{}
	}
	for _, we := range batch {
		c.ring = append(c.ring, we)
		for s := range c.all {
			push(s, we)
		}
		for s := range c.byNode[we.curNode] {
			push(s, we)
		}
		if we.prevNode != we.curNode {
			for s := range c.byNode[we.prevNode] {
				push(s, we)
			}
		}
	}
	if len(c.ring) >= 2*watchCacheEvents {
		// Drop the older half; a watch from before it reads the store.
		c.floor = c.ring[len(c.ring)-watchCacheEvents-1].rev
		c.ring = append([]*watchEvent(nil), c.ring[len(c.ring)-watchCacheEvents:]...)
	}
	c.progress = max(c.progress, progress)
	c.mu.Unlock()
	for s := range woken {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// end stops the cache and ends every watcher with err.
func (c *watchCache) end(cs *watchCaches, err error) {
	cs.mu.Lock()
	if cs.byKey[c.prefix] == c {
		delete(cs.byKey, c.prefix)
	}
	cs.mu.Unlock()
	c.stop()
	c.mu.Lock()
	c.ended = err
	var subs []*watchSub
	for s := range c.all {
		subs = append(subs, s)
	}
	for _, m := range c.byNode {
		for s := range m {
			subs = append(subs, s)
		}
	}
	for _, s := range subs {
		s.queue, s.err = nil, err
	}
	c.mu.Unlock()
	for _, s := range subs {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}
