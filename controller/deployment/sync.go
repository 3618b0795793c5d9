package deployment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/controller/internal/ownership"
)

// sync moves one deployment one step and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.dLister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		c.cfg.Recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		return nil
	}
	rss, err := c.claim(ctx, d, sel)
	if err != nil {
		return err
	}
	newRS, olds := split(d, rss)
	if d.DeletionTimestamp != nil {
		return c.writeStatus(ctx, d, cached.Status, newRS, rss, false)
	}
	progressed := false
	switch {
	case d.Spec.Paused || (ScalingEvent(d, rss) && newRS != nil):
		changed, err := c.apply(ctx, d, Scale(d, newRS, olds), rss)
		if err != nil {
			return err
		}
		progressed = changed
	default:
		if newRS == nil {
			if newRS, err = c.createNewRS(ctx, d, olds); err != nil {
				return err
			}
			rss = append(rss, newRS)
			progressed = true
		} else if newRS, err = c.syncRevision(ctx, d, newRS, olds); err != nil {
			return err
		}
		var plan Plan
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			plan = RecreateStep(d, newRS, olds, c.podsOf(olds))
		} else {
			plan = RollingStep(d, newRS, olds)
		}
		want := map[string]int32{}
		for k, v := range plan.Old {
			want[k] = v
		}
		if plan.New != replicasOf(newRS) {
			want[newRS.Name] = plan.New
		}
		changed, err := c.apply(ctx, d, want, rss)
		if err != nil {
			return err
		}
		progressed = progressed || changed
	}
	if d, err = c.syncDeploymentRevision(ctx, d, newRS); err != nil {
		return err
	}
	if err := c.writeStatus(ctx, d, cached.Status, newRS, rss, progressed); err != nil {
		return err
	}
	if d.Spec.Paused || Complete(d, Counts(d, newRS, rss)) {
		return c.cleanup(ctx, d, olds)
	}
	return nil
}

// claim adopts orphan ReplicaSets d's selector matches, releases its own
// that stop matching, and returns the ones d controls.
func (c *Controller) claim(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	var errs []error
	for _, rs := range all {
		var patch []byte
		switch ownership.Decide(d, sel, rs) {
		case ownership.Keep:
			out = append(out, rs)
			continue
		case ownership.Adopt:
			patch, err = ownership.AdoptPatch(d, Kind, rs)
		case ownership.Release:
			patch, err = ownership.ReleasePatch(d, rs)
		default:
			continue
		}
		if err == nil {
			var got *appsv1.ReplicaSet
			got, err = c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			if err == nil && ownership.Owns(d, got) {
				out = append(out, got)
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("claim replicaset %s: %w", rs.Name, err))
		}
	}
	return out, errors.Join(errs...)
}

// split returns the ReplicaSet whose template is d's (the oldest if
// several) and the others, oldest first.
func split(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	sorted := slices.Clone(rss)
	slices.SortStableFunc(sorted, func(a, b *appsv1.ReplicaSet) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return compareStrings(a.Name, b.Name)
	})
	var newRS *appsv1.ReplicaSet
	var olds []*appsv1.ReplicaSet
	for _, rs := range sorted {
		if newRS == nil && EqualTemplates(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			continue
		}
		olds = append(olds, rs)
	}
	return newRS, olds
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// EqualTemplates compares two pod templates ignoring the
// pod-template-hash label.
func EqualTemplates(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, TemplateHashLabel)
	delete(b.Labels, TemplateHashLabel)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// podsOf counts the pods that still exist for ReplicaSets rss.
func (c *Controller) podsOf(rss []*appsv1.ReplicaSet) int {
	n := 0
	for _, rs := range rss {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil {
			continue
		}
		pods, err := c.podLister.Pods(rs.Namespace).List(sel)
		if err != nil {
			continue
		}
		for _, p := range pods {
			if ownership.Owns(rs, p) && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				n++
			}
		}
	}
	return n
}

// apply scales the ReplicaSets named in want and stamps every active one
// with d's desired and max replicas. It reports whether it wrote anything.
func (c *Controller) apply(ctx context.Context, d *appsv1.Deployment, want map[string]int32, rss []*appsv1.ReplicaSet) (bool, error) {
	surge, _ := Fenceposts(d)
	desired := fmt.Sprint(Replicas(d))
	maxReplicas := fmt.Sprint(Replicas(d) + surge)
	changed := false
	for _, rs := range rss {
		n, scale := want[rs.Name]
		if !scale {
			n = replicasOf(rs)
		}
		if n == replicasOf(rs) && (n == 0 || (rs.Annotations[DesiredReplicasAnnotation] == desired && rs.Annotations[MaxReplicasAnnotation] == maxReplicas)) {
			continue
		}
		next := rs.DeepCopy()
		next.Spec.Replicas = &n
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[DesiredReplicasAnnotation] = desired
		next.Annotations[MaxReplicasAnnotation] = maxReplicas
		if _, err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return changed, fmt.Errorf("scale replicaset %s to %d: %w", rs.Name, n, err)
		}
		changed = true
		if old := replicasOf(rs); old != n {
			dir := "up"
			if n < old {
				dir = "down"
			}
			c.cfg.Recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.Name, old, n)
		}
	}
	return changed, nil
}

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

// writeStatus writes d's status if it differs from prev (the stored one)
// and schedules a sync for when the progress deadline would pass.
func (c *Controller) writeStatus(ctx context.Context, d *appsv1.Deployment, prev appsv1.DeploymentStatus, newRS *appsv1.ReplicaSet, rss []*appsv1.ReplicaSet, progressed bool) error {
	now := c.cfg.Now()
	cur := Counts(d, newRS, rss)
	progressed = progressed || cur.UpdatedReplicas > prev.UpdatedReplicas || cur.Replicas < prev.Replicas ||
		cur.ReadyReplicas > prev.ReadyReplicas || cur.AvailableReplicas > prev.AvailableReplicas
	st := CalculateStatus(d, newRS, rss, progressed, now)
	if !equality.Semantic.DeepEqual(st, prev) {
		next := d.DeepCopy()
		next.Status = st
		if _, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of deployment %s: %w", d.Name, err)
		}
	}
	prog := getCondition(st.Conditions, appsv1.DeploymentProgressing)
	if prog != nil && d.Spec.ProgressDeadlineSeconds != nil && !d.Spec.Paused && !Complete(d, st) &&
		(prog.Reason == ReasonRSUpdated || prog.Reason == ReasonNewRSCreated) {
		at := prog.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds)*time.Second + time.Second)
		c.queue.AddAfter(d.Namespace+"/"+d.Name, at.Sub(now))
	}
	return nil
}

// cleanup deletes the oldest scaled-down ReplicaSets beyond
// revisionHistoryLimit.
func (c *Controller) cleanup(ctx context.Context, d *appsv1.Deployment, olds []*appsv1.ReplicaSet) error {
	if d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var idle []*appsv1.ReplicaSet
	for _, rs := range olds {
		if replicasOf(rs) == 0 && rs.Status.Replicas == 0 && rs.Status.ObservedGeneration >= rs.Generation && rs.DeletionTimestamp == nil {
			idle = append(idle, rs)
		}
	}
	extra := len(idle) - int(*d.Spec.RevisionHistoryLimit)
	if extra <= 0 {
		return nil
	}
	slices.SortStableFunc(idle, func(a, b *appsv1.ReplicaSet) int {
		ra, rb := Revision(a.Annotations), Revision(b.Annotations)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time)
	})
	for _, rs := range idle[:extra] {
		uid := rs.UID
		err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", rs.Name, err)
		}
	}
	return nil
}
