package garbagecollector

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// TerminatedToDelete returns the finished (Succeeded or Failed) pods
// beyond threshold, oldest first: the ones to delete. Pods already being
// deleted do not count.
func TerminatedToDelete(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	var done []*corev1.Pod
	for _, p := range pods {
		if (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) && p.DeletionTimestamp == nil {
			done = append(done, p)
		}
	}
	extra := len(done) - threshold
	if threshold < 0 || extra <= 0 {
		return nil
	}
	slices.SortStableFunc(done, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		switch {
		case a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name:
			return -1
		case a.Namespace+"/"+a.Name > b.Namespace+"/"+b.Name:
			return 1
		}
		return 0
	})
	return done[:extra]
}

// runPodGC deletes, every interval, pods bound to nodes that are gone and
// finished pods beyond the threshold.
func (c *Collector) runPodGC(ctx context.Context) {
	t := time.NewTicker(c.cfg.PodGCInterval)
	defer t.Stop()
	orphanSince := map[types.UID]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pods, err := c.podLister.List(labels.Everything())
		if err != nil {
			continue
		}
		c.deleteOrphaned(ctx, pods, orphanSince, time.Now())
		if c.cfg.TerminatedPodThreshold < 0 {
			continue
		}
		victims := TerminatedToDelete(pods, c.cfg.TerminatedPodThreshold)
		for _, p := range victims {
			uid := p.UID
			err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
				c.log.Warn("delete finished pod", "namespace", p.Namespace, "pod", p.Name, "err", err)
			}
		}
		if len(victims) > 0 {
			c.log.Info("deleted finished pods", "count", len(victims), "threshold", c.cfg.TerminatedPodThreshold)
		}
	}
}

// deleteOrphaned force-deletes the pods bound to a node that has been
// missing for the quarantine, confirmed with a live read: no worker will
// ever confirm their deletion. since remembers when each orphan was first
// seen; entries of pods that are no longer orphans are dropped.
func (c *Collector) deleteOrphaned(ctx context.Context, pods []*corev1.Pod, since map[types.UID]time.Time, now time.Time) {
	seen := map[types.UID]bool{}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		if _, err := c.nodeLister.Get(p.Spec.NodeName); err == nil {
			continue
		}
		seen[p.UID] = true
		first, ok := since[p.UID]
		if !ok {
			since[p.UID] = now
			continue
		}
		if now.Sub(first) < c.cfg.OrphanQuarantine {
			continue
		}
		if _, err := c.cfg.Client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			continue // the node exists after all, or the read failed
		}
		uid, zero := p.UID, int64(0)
		err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			c.log.Warn("delete pod of a deleted node", "namespace", p.Namespace, "pod", p.Name, "node", p.Spec.NodeName, "err", err)
			continue
		}
		c.log.Info("deleted a pod of a deleted node", "namespace", p.Namespace, "pod", p.Name, "node", p.Spec.NodeName)
		if c.cfg.Recorder != nil {
			c.cfg.Recorder.Eventf(p, corev1.EventTypeNormal, "PodGCOrphaned", "Deleted: node %s no longer exists", p.Spec.NodeName)
		}
	}
	for uid := range since {
		if !seen[uid] {
			delete(since, uid)
		}
	}
}
