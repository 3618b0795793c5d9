package scheduler

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Name is the scheduler name Skiff answers to in spec.schedulerName;
// pods naming "default-scheduler" (what the API defaults an empty name
// to) are Skiff's too, so ordinary manifests work unchanged.
const Name = "skiff-scheduler"

// Config is what New needs. Client, Informers and Log are required.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder receives Scheduled and FailedScheduling events; nil drops
	// them.
	Recorder record.EventRecorder
	// Log should carry the component attribute (the leader seam's does).
	Log *slog.Logger
	// Rand breaks ties between equally good nodes; nil seeds one from
	// crypto/rand. Tests inject a seeded one.
	Rand *rand.Rand
	// BindWorkers bounds the binds in flight (default 32): placement
	// goes on while binds travel, and assumed decisions keep the count
	// right.
	BindWorkers int
	// AssumeTTL is how long an assumed pod whose bind succeeded waits for
	// the informer to confirm it before it is forgotten (default 30s).
	AssumeTTL time.Duration
	// PercentageOfNodesToScore: see Placer (0 is adaptive).
	PercentageOfNodesToScore int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Scheduler is the leader-only component that places pending pods.
type Scheduler struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	log      *slog.Logger
	placer   *Placer
	cache    *clusterCache
	queue    *queue
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	binds    chan struct{} // semaphore of bind workers
	wg       sync.WaitGroup
	now      func() time.Time
}

// New registers the scheduler's event handlers on the pod and node
// informers of cfg.Informers and returns without starting anything; the
// caller starts the factory and calls Run.
func New(cfg Config) *Scheduler {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	rng := cfg.Rand
	if rng == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:])
		rng = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	recorder := cfg.Recorder
	if recorder == nil {
		recorder = noopRecorder{}
	}
	s := &Scheduler{
		client:   cfg.Client,
		recorder: recorder,
		log:      cfg.Log,
		placer:   NewPlacer(rng),
		cache:    newCache(cmp.Or(cfg.AssumeTTL, 30*time.Second), now),
		queue:    newQueue(now),
		binds:    make(chan struct{}, cmp.Or(cfg.BindWorkers, 32)),
		now:      now,
	}
	s.placer.PercentageOfNodesToScore = cfg.PercentageOfNodesToScore
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	s.pods = podInf.Lister()
	ph, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPod(nil, obj) },
		UpdateFunc: s.onPod,
		DeleteFunc: s.onPodDelete,
	})
	if err != nil {
		s.log.Error("register pod handler", "err", err)
	}
	nh, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onNode(nil, obj) },
		UpdateFunc: s.onNode,
		DeleteFunc: s.onNodeDelete,
	})
	if err != nil {
		s.log.Error("register node handler", "err", err)
	}
	s.synced = []cache.InformerSynced{ph.HasSynced, nh.HasSynced}
	return s
}

// Run waits for the informers to sync, then places pods until ctx ends.
// It returns nil once its binds in flight have finished.
func (s *Scheduler) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return nil // ctx ended first
	}
	s.log.Info("scheduler started")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.housekeep(ctx)
	}()
	for {
		it := s.queue.pop(ctx)
		if it == nil {
			break
		}
		s.scheduleOne(ctx, it)
	}
	s.wg.Wait()
	s.log.Info("scheduler stopped")
	return nil
}

// housekeep moves pods out of back-off and expires unconfirmed
// assumptions. A 100 ms tick bounds how late a back-off ends; it does no
// work for pods that wait for a cluster event.
func (s *Scheduler) housekeep(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.queue.flush()
			if n := s.cache.expire(); n > 0 {
				s.log.Warn("forgot assumed pods the informer never showed bound", "count", n)
				s.queue.moveAll()
			}
		}
	}
}

// responsible reports whether the pod is this scheduler's to place.
func responsible(p *v1.Pod) bool {
	switch p.Spec.SchedulerName {
	case "", v1.DefaultSchedulerName, Name:
		return true
	}
	return false
}
