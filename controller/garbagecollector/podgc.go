package garbagecollector

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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

// runPodGC deletes finished pods beyond the threshold every interval.
func (c *Collector) runPodGC(ctx context.Context) {
	if c.cfg.TerminatedPodThreshold < 0 {
		return
	}
	t := time.NewTicker(c.cfg.PodGCInterval)
	defer t.Stop()
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
