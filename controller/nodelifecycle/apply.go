package nodelifecycle

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	var err error
	switch {
	case strings.HasPrefix(key, keyPrefixNode):
		err = c.syncNode(ctx, strings.TrimPrefix(key, keyPrefixNode))
	case strings.HasPrefix(key, keyPrefixPod):
		err = c.evict(ctx, strings.TrimPrefix(key, keyPrefixPod))
	}
	if err != nil {
		if ctx.Err() == nil && !apierrors.IsConflict(err) {
			c.log.Warn("sync", "key", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// syncNode recomputes the decision and applies the node's action, if it
// still has one: conditions first, then taints, each write carrying the
// resourceVersion it was based on.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	d, err := c.decide()
	if err != nil {
		return err
	}
	var act *NodeAction
	for i := range d.Nodes {
		if d.Nodes[i].Node == name {
			act = &d.Nodes[i]
		}
	}
	if act == nil {
		return nil
	}
	cur, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	n := cur.DeepCopy()
	if act.MarkUnknown {
		markUnknown(n, metav1.NewTime(c.clock.Now()))
		if n, err = c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("mark node %s unknown: %w", name, err)
		}
		c.log.Warn("node unreachable", "node", name)
		c.recorder.Eventf(n, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: %s", name, ReasonUnknown)
	}
	if act.Taints != nil {
		n.Spec.Taints = act.Taints
		if _, err = c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("taint node %s: %w", name, err)
		}
		if act.Reachable {
			c.log.Info("node reachable again: unreachable taints removed", "node", name)
			c.recorder.Eventf(n, corev1.EventTypeNormal, "NodeReachable", "Node %s is reachable again", name)
		} else {
			c.log.Info("node taints set", "node", name, "taints", describeTaints(act.Taints))
		}
	}
	return nil
}

// markUnknown sets every condition of n to Unknown, adding Ready if it is
// missing, as Kubernetes does when a kubelet stops posting status.
func markUnknown(n *corev1.Node, now metav1.Time) {
	const msg = "Kubelet stopped posting node status."
	found := false
	for i := range n.Status.Conditions {
		cond := &n.Status.Conditions[i]
		found = found || cond.Type == corev1.NodeReady
		if cond.Status != corev1.ConditionUnknown {
			cond.LastTransitionTime = now
		}
		cond.Status, cond.Reason, cond.Message = corev1.ConditionUnknown, ReasonUnknown, msg
	}
	if !found {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			Reason: ReasonUnknown, Message: msg, LastTransitionTime: now, LastHeartbeatTime: now})
	}
}

func describeTaints(ts []corev1.Taint) string {
	var out []string
	for _, t := range ts {
		if owned(t) {
			out = append(out, t.ToString())
		}
	}
	return strings.Join(out, ",")
}

// evict deletes a pod if the decision still evicts it. The delete is
// conditional on the pod's UID, so a new pod of the same name is safe.
func (c *Controller) evict(ctx context.Context, key string) error {
	d, err := c.decide()
	if err != nil {
		return err
	}
	for _, e := range d.Evictions {
		if e.Pod.String() != key {
			continue
		}
		err := c.client.CoreV1().Pods(e.Pod.Namespace).Delete(ctx, e.Pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &e.UID}})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			return nil // gone, or replaced by a pod with another UID
		case err != nil:
			return fmt.Errorf("evict pod %s: %w", key, err)
		}
		c.log.Info("evicted pod from unreachable node", "pod", key, "node", e.Node)
		if p, err := c.podIndex.ByIndex(podsByNodeIndex, e.Node); err == nil {
			for _, o := range p {
				if pod, ok := o.(*corev1.Pod); ok && pod.UID == e.UID {
					c.recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
				}
			}
		}
		return nil
	}
	return nil
}
