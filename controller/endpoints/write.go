package endpoints

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// syncSlices makes the Service's managed slices equal desired: it creates
// the missing ones, updates the differing ones with the resourceVersion
// the lister holds (a conflict requeues the Service) and deletes the rest.
// Unchanged slices are not written.
func (c *Controller) syncSlices(ctx context.Context, ns, svcName string, desired []*discoveryv1.EndpointSlice) error {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svcName, discoveryv1.LabelManagedBy: ManagedBy})
	existing, err := c.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		return err
	}
	have := make(map[string]*discoveryv1.EndpointSlice, len(existing))
	for _, s := range existing {
		have[s.Name] = s
	}
	api := c.client.DiscoveryV1().EndpointSlices(ns)
	var errs []error
	for _, want := range desired {
		cur, ok := have[want.Name]
		delete(have, want.Name)
		switch {
		case !ok:
			_, err = api.Create(ctx, want, metav1.CreateOptions{})
		case !sliceEqual(cur, want):
			upd := cur.DeepCopy()
			upd.Labels, upd.OwnerReferences = want.Labels, want.OwnerReferences
			upd.AddressType, upd.Endpoints, upd.Ports = want.AddressType, want.Endpoints, want.Ports
			_, err = api.Update(ctx, upd, metav1.UpdateOptions{})
		default:
			continue
		}
		errs = append(errs, err)
	}
	for _, stale := range have {
		err := api.Delete(ctx, stale.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &stale.UID}})
		if !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sliceEqual(a, b *discoveryv1.EndpointSlice) bool {
	return a.AddressType == b.AddressType &&
		equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.OwnerReferences, b.OwnerReferences) &&
		equality.Semantic.DeepEqual(a.Endpoints, b.Endpoints) &&
		equality.Semantic.DeepEqual(a.Ports, b.Ports)
}

// syncEndpoints makes the Service's Endpoints object equal desired. A nil
// desired deletes the object, but only if this controller made it (its
// managed-by label): Endpoints of selector-less Services are their users'.
func (c *Controller) syncEndpoints(ctx context.Context, ns, name string, desired *corev1.Endpoints) error {
	cur, err := c.endpoints.Endpoints(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		cur = nil
	case err != nil:
		return err
	}
	api := c.client.CoreV1().Endpoints(ns)
	switch {
	case desired == nil && cur != nil && cur.Labels[LabelEndpointsManagedBy] == EndpointsManagedBy:
		err = api.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}})
		if apierrors.IsNotFound(err) {
			err = nil
		}
	case desired == nil:
	case cur == nil:
		_, err = api.Create(ctx, desired, metav1.CreateOptions{})
	case !equality.Semantic.DeepEqual(cur.Labels, desired.Labels) || !equality.Semantic.DeepEqual(cur.Subsets, desired.Subsets):
		upd := cur.DeepCopy()
		upd.Labels, upd.Subsets = desired.Labels, desired.Subsets
		_, err = api.Update(ctx, upd, metav1.UpdateOptions{})
	}
	return err
}
