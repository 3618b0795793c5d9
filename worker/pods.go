package worker

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// housekeeping is how often the worker looks for containers and sandboxes
// of pods that are gone, and the longest a pod goes without a sync.
const housekeeping = 10 * time.Second

// podManager watches the pods bound to this node and runs one podWorker
// goroutine per pod. It owns them: run returns after they have all ended.
type podManager struct {
	w *Worker

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup

	lister  func(uid types.UID) (*corev1.Pod, bool)
	podCIDR string
	// services lists a namespace's Services (for their environment
	// variables); set by run, nil in unit tests that need none.
	services func(ns string) ([]*corev1.Service, error)
}

func newPodManager(w *Worker) *podManager {
	return &podManager{w: w, workers: map[types.UID]*podWorker{}}
}

// run watches pods with spec.nodeName=<node> and the Node itself (for its
// podCIDR) until ctx ends.
func (m *podManager) run(ctx context.Context) error {
	w := m.w
	podFactory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", w.cfg.Name).String()
		}))
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.cfg.Name).String()
		}))
	svcFactory := informers.NewSharedInformerFactory(w.client, 0)
	podInf := podFactory.Core().V1().Pods().Informer()
	nodeInf := nodeFactory.Core().V1().Nodes().Informer()
	// Registered before the factory starts, which starts only what is
	// registered by then.
	svcInf, svcLister := svcFactory.Core().V1().Services().Informer(), svcFactory.Core().V1().Services().Lister()
	m.services = func(ns string) ([]*corev1.Service, error) {
		if !svcInf.HasSynced() {
			return nil, errNotSynced
		}
		return svcLister.Services(ns).List(labels.Everything())
	}
	byUID := map[types.UID]*corev1.Pod{}
	var byMu sync.Mutex
	m.lister = func(uid types.UID) (*corev1.Pod, bool) {
		byMu.Lock()
		defer byMu.Unlock()
		p, ok := byUID[uid]
		return p, ok
	}
	upsert := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		byMu.Lock()
		byUID[p.UID] = p
		byMu.Unlock()
		m.dispatch(ctx, p)
	}
	podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    upsert,
		UpdateFunc: func(_, n any) { upsert(n) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			byMu.Lock()
			delete(byUID, p.UID)
			byMu.Unlock()
			m.removed(p.UID)
		},
	})
	nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.nodeChanged(ctx, obj) },
		UpdateFunc: func(_, n any) { m.nodeChanged(ctx, n) },
	})
	podFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	svcFactory.Start(ctx.Done())
	defer func() {
		podFactory.Shutdown()
		nodeFactory.Shutdown()
		svcFactory.Shutdown()
		m.wg.Wait()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, nodeInf.HasSynced, svcInf.HasSynced) {
		return ctx.Err()
	}
	w.log.Info("watching pods bound to this node")
	t := time.NewTicker(housekeeping)
	defer t.Stop()
	m.cleanup(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case uid := <-w.rt.Exits():
			m.poke(types.UID(uid))
		case <-t.C:
			m.cleanup(ctx)
			m.mu.Lock()
			for _, pw := range m.workers {
				pw.poke()
			}
			m.mu.Unlock()
		}
	}
}

// nodeChanged hands a new spec.podCIDR to the runtime and wakes every pod
// worker, since pods waiting for a network may now start.
func (m *podManager) nodeChanged(ctx context.Context, obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok || n.Spec.PodCIDR == "" {
		return
	}
	m.mu.Lock()
	same := n.Spec.PodCIDR == m.podCIDR
	m.podCIDR = n.Spec.PodCIDR
	m.mu.Unlock()
	if same {
		return
	}
	if err := m.w.rt.SetPodCIDR(n.Spec.PodCIDR); err != nil {
		m.w.log.Error("pod network", "podCIDR", n.Spec.PodCIDR, "err", err)
		return
	}
	m.w.log.Info("pod network configured", "podCIDR", n.Spec.PodCIDR)
	m.mu.Lock()
	for _, pw := range m.workers {
		pw.poke()
	}
	m.mu.Unlock()
}

// dispatch hands the latest version of p to its worker, starting one for
// a new pod.
func (m *podManager) dispatch(ctx context.Context, p *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pw, ok := m.workers[p.UID]
	if !ok {
		pw = newPodWorker(m, p)
		m.workers[p.UID] = pw
		m.wg.Go(func() {
			pw.loop(ctx)
			m.mu.Lock()
			if m.workers[p.UID] == pw {
				delete(m.workers, p.UID)
			}
			m.mu.Unlock()
		})
	}
	pw.update(p)
}

// removed tells a pod's worker that the pod is gone from the API: it
// stops the containers and removes everything of the pod.
func (m *podManager) removed(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pw, ok := m.workers[uid]; ok {
		pw.markGone()
	}
}

func (m *podManager) poke(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pw, ok := m.workers[uid]; ok {
		pw.poke()
	}
}

// cleanup stops and removes the containers and sandboxes of pods that are
// neither in the API nor handled by a worker: pods deleted (or bound
// elsewhere) while the worker was down. The runtime holds only the
// worker's own objects, so nothing else is touched.
func (m *podManager) cleanup(ctx context.Context) {
	rt := m.w.rt
	known := func(uid string) bool {
		m.mu.Lock()
		_, ok := m.workers[types.UID(uid)]
		m.mu.Unlock()
		if ok {
			return true
		}
		_, ok = m.lister(types.UID(uid))
		return ok
	}
	cs, err := rt.ListContainers(ctx, "")
	if err != nil {
		m.w.log.Debug("housekeeping: list containers", "err", err)
		return
	}
	for _, c := range cs {
		if known(c.PodUID) {
			continue
		}
		m.w.log.Info("removing a container of a pod that is gone", "pod", c.Namespace+"/"+c.PodName, "container", c.Name, "id", c.ID)
		if err := rt.StopContainer(ctx, c.ID, 0); err != nil {
			m.w.log.Warn("stop orphan container", "id", c.ID, "err", err)
			continue
		}
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			m.w.log.Warn("remove orphan container", "id", c.ID, "err", err)
		}
	}
	sbs, err := rt.ListSandboxes(ctx)
	if err != nil {
		return
	}
	for _, sb := range sbs {
		if !known(sb.PodUID) {
			if err := rt.RemoveSandbox(ctx, sb.PodUID); err != nil {
				m.w.log.Warn("remove orphan sandbox", "pod", sb.Namespace+"/"+sb.PodName, "err", err)
			}
		}
	}
}
