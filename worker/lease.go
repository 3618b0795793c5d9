package worker

import (
	"context"
	"fmt"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// leaseNamespace holds one Lease per node, named like it.
const leaseNamespace = "kube-node-lease"

// leaseDuration is what the Lease claims; the node lifecycle controller
// judges liveness by renewTime's age, with its own (shorter) grace.
const leaseDuration = 40

// renewLease creates or renews the node's Lease and returns it as stored.
// prev is the Lease from the last renewal, or nil.
func (w *Worker) renewLease(ctx context.Context, prev *coordv1.Lease) (*coordv1.Lease, error) {
	leases := w.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	if prev == nil {
		l, err := leases.Get(ctx, w.cfg.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			l = &coordv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: w.cfg.Name, Namespace: leaseNamespace},
				Spec: coordv1.LeaseSpec{
					HolderIdentity:       ptr.To(w.cfg.Name),
					LeaseDurationSeconds: ptr.To[int32](leaseDuration),
					RenewTime:            &now,
				},
			}
			if w.nodeUID != "" {
				l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: w.cfg.Name, UID: w.nodeUID}}
			}
			created, err := leases.Create(ctx, l, metav1.CreateOptions{})
			if err != nil {
				return nil, fmt.Errorf("create lease: %w", err)
			}
			return created, nil
		case err != nil:
			return nil, fmt.Errorf("get lease: %w", err)
		}
		prev = l
	}
	l := prev.DeepCopy()
	l.Spec.HolderIdentity = ptr.To(w.cfg.Name)
	l.Spec.LeaseDurationSeconds = ptr.To[int32](leaseDuration)
	l.Spec.RenewTime = &now
	out, err := leases.Update(ctx, l, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("renew lease: %w", err)
	}
	return out, nil
}

// leaseLoop renews the Lease every cfg.LeaseRenew until ctx ends. A
// failed renewal is retried at the next tick from a fresh read.
func (w *Worker) leaseLoop(ctx context.Context) {
	var lease *coordv1.Lease
	t := time.NewTicker(w.cfg.LeaseRenew)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, w.cfg.LeaseRenew)
		l, err := w.renewLease(rctx, lease)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("lease renewal failed", "err", err)
			lease = nil
		} else {
			lease = l
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
