package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// ownerState is what a dependent learns about one of its owners.
type ownerState int

const (
	ownerPresent ownerState = iota
	ownerAbsent
	// ownerWaiting: the owner is being deleted in the foreground and waits
	// for its dependents.
	ownerWaiting
)

// Decision is what the collector does with a dependent, given the states
// of its owners.
type Decision int

const (
	// Keep the dependent as it is.
	Keep Decision = iota
	// DeleteBackground: every owner is gone.
	DeleteBackground
	// DeleteForeground: no owner remains but some wait for the dependent
	// in the foreground, so it goes the same way.
	DeleteForeground
	// DropRefs: some owners remain; the references to gone owners are
	// removed.
	DropRefs
)

// Decide is the collector's pure decision for a dependent with the given
// count of present, absent and waiting owners.
func Decide(present, absent, waiting int) Decision {
	switch {
	case present > 0 && absent > 0:
		return DropRefs
	case present > 0:
		return Keep
	case waiting > 0:
		return DeleteForeground
	case absent > 0:
		return DeleteBackground
	}
	return Keep
}

func (c *Collector) sync(ctx context.Context, it string) error {
	ki, key, ok := parseItem(it)
	if !ok || ki < 0 || ki >= len(c.kinds) {
		return nil
	}
	k := c.kinds[ki]
	obj, exists, err := k.informer.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	if m.GetDeletionTimestamp() != nil {
		fs := m.GetFinalizers()
		if slices.Contains(fs, metav1.FinalizerOrphanDependents) {
			return c.orphan(ctx, k, m)
		}
		if slices.Contains(fs, metav1.FinalizerDeleteDependents) {
			if err := c.foreground(ctx, k, m); err != nil {
				return err
			}
		}
	}
	if len(m.GetOwnerReferences()) > 0 {
		return c.dependent(ctx, k, m)
	}
	return nil
}

// dependent applies Decide to an object with owner references.
func (c *Collector) dependent(ctx context.Context, k *kind, m metav1.Object) error {
	var present, absent, waiting int
	var gone []types.UID
	for _, ref := range m.GetOwnerReferences() {
		st, err := c.ownerStateOf(ctx, m.GetNamespace(), ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerPresent:
			present++
		case ownerAbsent:
			absent++
			gone = append(gone, ref.UID)
		case ownerWaiting:
			waiting++
		}
	}
	switch Decide(present, absent, waiting) {
	case DropRefs:
		var refs []metav1.OwnerReference
		for _, r := range m.GetOwnerReferences() {
			if !slices.Contains(gone, r.UID) {
				refs = append(refs, r)
			}
		}
		return c.patchMeta(ctx, k, m, map[string]any{"ownerReferences": refs})
	case DeleteForeground:
		if m.GetDeletionTimestamp() != nil {
			return nil
		}
		return c.delete(ctx, k, m, metav1.DeletePropagationForeground)
	case DeleteBackground:
		if m.GetDeletionTimestamp() != nil {
			return nil
		}
		return c.delete(ctx, k, m, metav1.DeletePropagationBackground)
	}
	return nil
}

// ownerStateOf looks an owner up in the cache, and confirms with a live
// read before calling it absent: a cache that has not seen a new owner yet
// must not get its dependents deleted.
func (c *Collector) ownerStateOf(ctx context.Context, ns string, ref metav1.OwnerReference) (ownerState, error) {
	ki := c.kindOf(ref.APIVersion, ref.Kind)
	if ki < 0 {
		return ownerPresent, nil
	}
	k := c.kinds[ki]
	if !k.namespaced {
		ns = ""
	}
	obj, exists, err := k.informer.GetIndexer().GetByKey(joinKey(ns, ref.Name))
	if err != nil {
		return ownerPresent, err
	}
	if !exists {
		live, err := k.rest.Get().NamespaceIfScoped(ns, k.namespaced).Resource(k.resource).Name(ref.Name).Do(ctx).Get()
		if apierrors.IsNotFound(err) {
			return ownerAbsent, nil
		}
		if err != nil {
			return ownerPresent, fmt.Errorf("read owner %s %s: %w", ref.Kind, ref.Name, err)
		}
		obj = live
	}
	om, err := meta.Accessor(obj)
	if err != nil {
		return ownerPresent, nil
	}
	if om.GetUID() != ref.UID {
		return ownerAbsent, nil
	}
	if om.GetDeletionTimestamp() != nil && slices.Contains(om.GetFinalizers(), metav1.FinalizerDeleteDependents) {
		return ownerWaiting, nil
	}
	return ownerPresent, nil
}

// dependentsOf returns the cached objects that name uid as an owner, with
// the kind each belongs to.
func (c *Collector) dependentsOf(uid types.UID) ([]metav1.Object, []*kind) {
	var objs []metav1.Object
	var kinds []*kind
	for _, k := range c.kinds {
		list, err := k.informer.GetIndexer().ByIndex(ownerIndex, string(uid))
		if err != nil {
			continue
		}
		for _, o := range list {
			if m, err := meta.Accessor(o); err == nil {
				objs = append(objs, m)
				kinds = append(kinds, k)
			}
		}
	}
	return objs, kinds
}

// orphan strips owner's references from its dependents, then removes the
// orphan finalizer.
func (c *Collector) orphan(ctx context.Context, k *kind, owner metav1.Object) error {
	deps, kinds := c.dependentsOf(owner.GetUID())
	for i, d := range deps {
		var refs []metav1.OwnerReference
		for _, r := range d.GetOwnerReferences() {
			if r.UID != owner.GetUID() {
				refs = append(refs, r)
			}
		}
		if err := c.patchMeta(ctx, kinds[i], d, map[string]any{"ownerReferences": refs}); err != nil {
			return err
		}
	}
	return c.removeFinalizer(ctx, k, owner, metav1.FinalizerOrphanDependents)
}

// foreground deletes owner's dependents and removes the foreground
// finalizer once none that blocks the owner's deletion is left.
func (c *Collector) foreground(ctx context.Context, k *kind, owner metav1.Object) error {
	deps, kinds := c.dependentsOf(owner.GetUID())
	blocking := 0
	for i, d := range deps {
		for _, r := range d.GetOwnerReferences() {
			if r.UID == owner.GetUID() && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				blocking++
			}
		}
		if d.GetDeletionTimestamp() == nil {
			// Its dependent sync decides (it may have other owners).
			if key, err := cache.MetaNamespaceKeyFunc(d); err == nil {
				c.queue.Add(item(slices.Index(c.kinds, kinds[i]), key))
			}
		}
	}
	if blocking > 0 {
		// The dependents' deletion events requeue the owner.
		return nil
	}
	return c.removeFinalizer(ctx, k, owner, metav1.FinalizerDeleteDependents)
}

func (c *Collector) delete(ctx context.Context, k *kind, m metav1.Object, policy metav1.DeletionPropagation) error {
	uid := m.GetUID()
	opts := &metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
	err := k.rest.Delete().NamespaceIfScoped(m.GetNamespace(), k.namespaced).Resource(k.resource).Name(m.GetName()).Body(opts).Do(ctx).Error()
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s/%s: %w", k.gvk.Kind, m.GetNamespace(), m.GetName(), err)
	}
	c.log.Debug("deleted", "kind", k.gvk.Kind, "namespace", m.GetNamespace(), "name", m.GetName(), "propagation", policy)
	return nil
}

func (c *Collector) removeFinalizer(ctx context.Context, k *kind, m metav1.Object, f string) error {
	fs := slices.DeleteFunc(slices.Clone(m.GetFinalizers()), func(s string) bool { return s == f })
	if fs == nil {
		fs = []string{}
	}
	return c.patchMeta(ctx, k, m, map[string]any{"finalizers": fs})
}

// patchMeta merge-patches metadata fields of m, with its uid and
// resourceVersion as preconditions: a stale decision fails with a conflict
// and is retried on fresh state.
func (c *Collector) patchMeta(ctx context.Context, k *kind, m metav1.Object, fields map[string]any) error {
	md := map[string]any{"uid": m.GetUID(), "resourceVersion": m.GetResourceVersion()}
	for f, v := range fields {
		md[f] = v
	}
	body, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		return err
	}
	err = k.rest.Patch(types.MergePatchType).NamespaceIfScoped(m.GetNamespace(), k.namespaced).Resource(k.resource).Name(m.GetName()).Body(body).Do(ctx).Error()
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch %s %s/%s: %w", k.gvk.Kind, m.GetNamespace(), m.GetName(), err)
	}
	return nil
}
