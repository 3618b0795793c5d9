package scheduler

import (
	"context"
	"errors"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// onPod routes a pod event: a bound pod goes to the cache, a pending pod
// of ours to the queue. old is nil for an add.
func (s *Scheduler) onPod(oldObj, obj any) {
	p, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	key := podKey(p)
	if p.Spec.NodeName != "" {
		s.queue.remove(key)
		s.cache.setBoundPod(p)
		if old, ok := oldObj.(*v1.Pod); ok && !terminal(old) && terminal(p) {
			s.queue.moveAll() // its resources are free now
		}
		return
	}
	if !responsible(p) || p.DeletionTimestamp != nil || terminal(p) {
		s.queue.remove(key)
		return
	}
	if s.cache.isAssumed(key) {
		return // placed; the informer has not seen the bind yet
	}
	changed := false
	if old, ok := oldObj.(*v1.Pod); ok {
		changed = !equality.Semantic.DeepEqual(old.Spec, p.Spec) || !equality.Semantic.DeepEqual(old.Labels, p.Labels)
	}
	s.queue.add(p, changed)
}

func (s *Scheduler) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	key := podKey(p)
	s.queue.remove(key)
	s.cache.removePod(key)
	if p.Spec.NodeName != "" {
		s.queue.moveAll()
	}
}

// onNode follows nodes. Only changes that could let a pod fit wake the
// unschedulable pods (not, say, a heartbeat in status), so a node that
// updates often does not turn waiting pods into a busy loop.
func (s *Scheduler) onNode(oldObj, obj any) {
	n, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	s.cache.setNode(n)
	if old, ok := oldObj.(*v1.Node); ok && !nodeChangeMatters(old, n) {
		return
	}
	s.queue.moveAll()
}

func nodeChangeMatters(old, n *v1.Node) bool {
	return !equality.Semantic.DeepEqual(old.Spec, n.Spec) ||
		!equality.Semantic.DeepEqual(old.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, n.Status.Allocatable) ||
		readyOf(old) != readyOf(n)
}

func readyOf(n *v1.Node) v1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status
		}
	}
	return v1.ConditionUnknown
}

func (s *Scheduler) onNodeDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if n, ok := obj.(*v1.Node); ok {
		s.cache.removeNode(n.Name)
	}
}

// scheduleOne places one popped pod: it assumes the decision in the cache
// and hands the bind to a worker, or reports the pod unschedulable.
func (s *Scheduler) scheduleOne(ctx context.Context, it *queueItem) {
	pod := it.attempt
	pi := NewPodInfo(pod)
	d, err := s.cache.place(s.placer, pi)
	if err != nil {
		var fe *FitError
		if !errors.As(err, &fe) {
			s.log.Error("placement failed", "pod", it.key, "err", err)
			s.queue.done(it, outcomeError)
			return
		}
		nominated := s.preempt(ctx, pi, fe)
		s.reportUnschedulable(ctx, pod, fe.Error(), nominated)
		s.log.Debug("pod unschedulable", "pod", it.key, "reason", fe.Error())
		s.queue.done(it, outcomeUnschedulable)
		return
	}
	select {
	case s.binds <- struct{}{}:
	case <-ctx.Done():
		s.cache.forget(it.key)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.binds }()
		s.bind(ctx, it, d.Node)
	}()
}

// bind posts the binding. On failure the assumption is dropped; a pod
// that is gone or already bound (by an earlier leader, say) leaves the
// queue, any other error backs off and retries.
func (s *Scheduler) bind(ctx context.Context, it *queueItem, node string) {
	pod := it.attempt
	b := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err == nil {
		s.cache.bindDone(it.key)
		s.queue.done(it, outcomeDone)
		s.recorder.Event(pod, v1.EventTypeNormal, eventScheduled, scheduledMessage(pod, node))
		return
	}
	s.cache.forget(it.key)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		s.log.Debug("bind refused; the pod is gone or bound", "pod", it.key, "node", node, "err", err)
		s.queue.done(it, outcomeDone)
	default:
		if ctx.Err() == nil {
			s.log.Warn("bind failed", "pod", it.key, "node", node, "err", err)
		}
		s.queue.done(it, outcomeError)
	}
	s.queue.moveAll() // the room it held is free again
}
