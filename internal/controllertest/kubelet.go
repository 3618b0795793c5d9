package controllertest

import (
	"context"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kubelets plays the node-status half of a set of workers: it registers
// Nodes with Ready=True and renews each node's Lease in kube-node-lease
// every Interval while the node is beating. Stop and Start a node to
// simulate its worker dying and returning.
type Kubelets struct {
	kc       kubernetes.Interface
	interval time.Duration

	mu      sync.Mutex
	beating map[string]bool
}

// StartKubelets registers nodes and renews their Leases every interval
// until the test ends.
func StartKubelets(t testing.TB, ctx context.Context, kc kubernetes.Interface, interval time.Duration, nodes ...*corev1.Node) *Kubelets {
	t.Helper()
	k := &Kubelets{kc: kc, interval: interval, beating: map[string]bool{}}
	err := Create(ctx, func() error {
		_, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: corev1.NamespaceNodeLease}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("create %s: %v", corev1.NamespaceNodeLease, err)
	}
	for _, n := range nodes {
		if err := k.register(ctx, n); err != nil {
			t.Fatalf("register node %s: %v", n.Name, err)
		}
		k.beating[n.Name] = true
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-tick.C:
			}
			k.mu.Lock()
			var names []string
			for n, on := range k.beating {
				if on {
					names = append(names, n)
				}
			}
			k.mu.Unlock()
			for _, n := range names {
				// A failed renewal is a missed heartbeat, as on a real
				// worker; the next tick tries again.
				_ = k.renew(hctx, n)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return k
}

func (k *Kubelets) register(ctx context.Context, n *corev1.Node) error {
	err := Create(ctx, func() error {
		_, err := k.kc.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if err := k.SetReady(ctx, n.Name); err != nil {
		return err
	}
	now := metav1.NewMicroTime(time.Now())
	secs := int32(40)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Namespace: corev1.NamespaceNodeLease},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &n.Name, LeaseDurationSeconds: &secs, RenewTime: &now},
	}
	return Create(ctx, func() error {
		_, err := k.kc.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{})
		return err
	})
}

// renew sets the Lease's renewTime to now; a conflict with a concurrent
// renewal is retried, since either one is a heartbeat.
func (k *Kubelets) renew(ctx context.Context, name string) error {
	leases := k.kc.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewMicroTime(time.Now())
		l.Spec.RenewTime = &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// Stop stops renewing node's Lease, as when its worker dies.
func (k *Kubelets) Stop(node string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.beating[node] = false
}

// Start renews node's Lease again and reports it Ready, as a returning
// worker does.
func (k *Kubelets) Start(ctx context.Context, node string) error {
	k.mu.Lock()
	k.beating[node] = true
	k.mu.Unlock()
	if err := Retry(ctx, func() error { return k.renew(ctx, node) }); err != nil {
		return err
	}
	return k.SetReady(ctx, node)
}

// SetReady writes the node's Ready=True condition, retrying conflicts.
func (k *Kubelets) SetReady(ctx context.Context, name string) error {
	return Retry(ctx, func() error {
		for {
			n, err := k.kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
			_, err = k.kc.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			if !apierrors.IsConflict(err) {
				return err
			}
		}
	})
}
