package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/controller/internal/ownership"
)

// sync reconciles one ReplicaSet: claim pods, create or delete the
// difference (unless earlier writes are still unobserved), write status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.rsLister.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || sel.Empty() {
		// Validation refuses these; a bad one is never acted on.
		return nil
	}
	now := c.cfg.Now()
	ready := c.exp.satisfied(key, now)
	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claim(ctx, rs, sel, all)
	if err != nil {
		return err
	}
	var manageErr error
	if ready && rs.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, rs, pods)
	}
	status := CalculateStatus(rs, pods, manageErr, now)
	if err := c.writeStatus(ctx, rs, status); err != nil {
		return err
	}
	if manageErr == nil {
		c.requeueForAvailability(key, rs, pods, now)
	}
	return manageErr
}

// claim adopts and releases pods per package ownership and returns the
// active pods rs controls.
func (c *Controller) claim(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, all []*corev1.Pod) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	var errs []error
	checkedLive := false
	for _, pod := range all {
		if !isActive(pod) {
			continue
		}
		switch ownership.Decide(rs, sel, pod) {
		case ownership.Keep:
			out = append(out, pod)
		case ownership.Adopt:
			if !checkedLive {
				// As Kubernetes does: confirm from the API, not the cache,
				// that rs is alive before claiming anything for it.
				live, err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("recheck replicaset %s before adoption: %w", rs.Name, err)
				}
				if live.UID != rs.UID || live.DeletionTimestamp != nil {
					return nil, fmt.Errorf("replicaset %s changed before adoption", rs.Name)
				}
				checkedLive = true
			}
			patch, err := ownership.AdoptPatch(rs, Kind, pod)
			if err == nil {
				_, err = c.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			if err == nil {
				out = append(out, pod)
			} else if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("adopt pod %s: %w", pod.Name, err))
			}
		case ownership.Release:
			patch, err := ownership.ReleasePatch(rs, pod)
			if err == nil {
				_, err = c.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("release pod %s: %w", pod.Name, err))
			}
		}
	}
	return out, errors.Join(errs...)
}

// manage creates or deletes pods so that len(pods) reaches spec.replicas,
// at most BurstReplicas per sync.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	want := int32(1)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	diff := len(pods) - int(want)
	now := c.cfg.Now()
	switch {
	case diff < 0:
		n := min(-diff, c.cfg.BurstReplicas)
		c.exp.expectCreates(key, n, now)
		return c.createPods(ctx, key, rs, n)
	case diff > 0:
		n := min(diff, c.cfg.BurstReplicas)
		victims := append([]*corev1.Pod(nil), pods...)
		DeletionOrder(victims)
		victims = victims[:n]
		keys := make([]string, n)
		for i, p := range victims {
			keys[i] = p.Namespace + "/" + p.Name
		}
		c.exp.expectDeletes(key, keys, now)
		return c.deletePods(ctx, key, rs, victims)
	}
	return nil
}

// createPods creates n pods in batches of doubling size (1, 2, 4, …), as
// Kubernetes' slow start does, so a template the API refuses costs one
// failed request rather than n.
func (c *Controller) createPods(ctx context.Context, key string, rs *appsv1.ReplicaSet, n int) error {
	done := 0
	for batch := 1; done < n; batch *= 2 {
		size := min(batch, n-done)
		var wg sync.WaitGroup
		errCh := make(chan error, size)
		for range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pod, err := c.cfg.Client.CoreV1().Pods(rs.Namespace).Create(ctx, podFromTemplate(rs), metav1.CreateOptions{})
				if err != nil {
					// The create will never be observed.
					c.exp.created(key)
					if apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
						return
					}
					c.cfg.Recorder.Eventf(rs, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
					errCh <- err
					return
				}
				c.cfg.Recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", pod.Name)
			}()
		}
		wg.Wait()
		close(errCh)
		done += size
		if err := <-errCh; err != nil {
			for range n - done {
				c.exp.created(key)
			}
			return fmt.Errorf("create pods for replicaset %s: %w", rs.Name, err)
		}
	}
	return nil
}

func (c *Controller) deletePods(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	var wg sync.WaitGroup
	errCh := make(chan error, len(pods))
	for _, pod := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := pod.UID
			err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil {
				c.exp.deleted(key, pod.Namespace+"/"+pod.Name)
				if apierrors.IsNotFound(err) {
					return
				}
				c.cfg.Recorder.Eventf(rs, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				errCh <- fmt.Errorf("delete pod %s: %w", pod.Name, err)
				return
			}
			c.cfg.Recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", pod.Name)
		}()
	}
	wg.Wait()
	close(errCh)
	return <-errCh
}

// podFromTemplate builds a pod of rs: the template's labels, annotations
// and spec, a controller reference, and generateName "<rs>-" so the
// apiserver picks a unique name.
func podFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{ownership.Ref(rs, Kind)},
		},
		Spec: t.Spec,
	}
}

// requeueForAvailability schedules a sync for when the next ready pod
// becomes available, so availableReplicas moves without any event.
func (c *Controller) requeueForAvailability(key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod, now time.Time) {
	if rs.Spec.MinReadySeconds == 0 {
		return
	}
	var next time.Duration
	for _, p := range pods {
		if d := availableIn(p, rs.Spec.MinReadySeconds, now); d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	if next > 0 {
		c.queue.AddAfter(key, next+10*time.Millisecond)
	}
}
