package deployment

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/controller/internal/ownership"
)

// This file holds the new ReplicaSet's life: its creation under the
// template hash, and the revision annotations kubectl's rollout commands
// read on it and on the deployment.

// createNewRS creates the ReplicaSet for d's current template, named
// with the template hash. A name taken by a ReplicaSet with another
// template is a hash collision: the collision count goes up and the next
// sync tries another name.
func (c *Controller) createNewRS(ctx context.Context, d *appsv1.Deployment, olds []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	hash := TemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := d.Spec.Template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[TemplateHashLabel] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[TemplateHashLabel] = hash
	surge, _ := Fenceposts(d)
	ann := map[string]string{}
	for k, v := range d.Annotations {
		if copiedAnnotation(k) {
			ann[k] = v
		}
	}
	ann[RevisionAnnotation] = fmt.Sprint(MaxRevision(olds) + 1)
	ann[DesiredReplicasAnnotation] = fmt.Sprint(Replicas(d))
	ann[MaxReplicasAnnotation] = fmt.Sprint(Replicas(d) + surge)
	var replicas int32
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		if c.podsOf(olds) == 0 && !slices.ContainsFunc(olds, func(rs *appsv1.ReplicaSet) bool { return replicasOf(rs) > 0 }) {
			replicas = Replicas(d)
		}
	} else {
		replicas = RollingStep(d, nil, olds).New
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, Labels: tmpl.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{ownership.Ref(d, Kind)},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *tmpl},
	}
	created, err := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, gerr := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("read replicaset %s after a name clash: %w", rs.Name, gerr)
		}
		if ownership.Owns(d, existing) && EqualTemplates(&existing.Spec.Template, &d.Spec.Template) {
			// Our own create whose event the cache has not shown yet.
			return existing, nil
		}
		next := d.DeepCopy()
		cc := int32(0)
		if d.Status.CollisionCount != nil {
			cc = *d.Status.CollisionCount
		}
		cc++
		next.Status.CollisionCount = &cc
		if _, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("count hash collision of deployment %s: %w", d.Name, err)
		}
		return nil, fmt.Errorf("replicaset name %s taken: collision count now %d", rs.Name, cc)
	}
	if err != nil {
		return nil, fmt.Errorf("create replicaset for deployment %s: %w", d.Name, err)
	}
	c.cfg.Recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, replicas)
	setCondition(&d.Status, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
		fmt.Sprintf("Created new replica set %q", created.Name), c.cfg.Now())
	return created, nil
}

// syncRevision gives the new ReplicaSet a revision above every old one (a
// template rolled back to becomes the newest revision, its earlier number
// kept in revision-history), d's copied annotations and minReadySeconds.
func (c *Controller) syncRevision(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	next := newRS.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if cur, top := Revision(newRS.Annotations), MaxRevision(olds); cur <= top {
		if cur > 0 {
			h := next.Annotations[RevisionHistoryAnnotation]
			if h != "" {
				h += ","
			}
			next.Annotations[RevisionHistoryAnnotation] = h + fmt.Sprint(cur)
		}
		next.Annotations[RevisionAnnotation] = fmt.Sprint(top + 1)
	}
	for k, v := range d.Annotations {
		if copiedAnnotation(k) {
			next.Annotations[k] = v
		}
	}
	next.Spec.MinReadySeconds = d.Spec.MinReadySeconds
	if equality.Semantic.DeepEqual(next, newRS) {
		return newRS, nil
	}
	out, err := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update revision of replicaset %s: %w", newRS.Name, err)
	}
	return out, nil
}

// syncDeploymentRevision copies the new ReplicaSet's revision onto d.
func (c *Controller) syncDeploymentRevision(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet) (*appsv1.Deployment, error) {
	if newRS == nil || d.Annotations[RevisionAnnotation] == newRS.Annotations[RevisionAnnotation] {
		return d, nil
	}
	next := d.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[RevisionAnnotation] = newRS.Annotations[RevisionAnnotation]
	out, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update revision of deployment %s: %w", d.Name, err)
	}
	// Keep the conditions this sync computed; the stored status is older.
	out.Status.Conditions = d.Status.Conditions
	return out, nil
}
