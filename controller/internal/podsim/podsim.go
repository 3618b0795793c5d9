// Package podsim stands in for kubelets in the controllers' integration
// tests and benchmarks: it reports every pod of a namespace Running and
// Ready through the pods' status subresource, as a kubelet would once the
// containers run. It only writes status; it starts nothing.
package podsim

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/controller/internal/reconcile"
)

// Kubelet marks the pods of one namespace ready.
type Kubelet struct {
	client kubernetes.Interface
	ns     string
	mu     sync.Mutex
	hold   bool
	marked int
}

// New returns a Kubelet for namespace ns.
func New(client kubernetes.Interface, ns string) *Kubelet {
	return &Kubelet{client: client, ns: ns}
}

// Hold stops (true) or resumes (false) marking pods ready, so a test can
// watch a rollout wait for readiness.
func (k *Kubelet) Hold(hold bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hold = hold
}

// Marked returns how many pods it has marked ready.
func (k *Kubelet) Marked() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.marked
}

// Run marks pods ready with workers concurrent writers until ctx ends.
func (k *Kubelet) Run(ctx context.Context, workers int) {
	f := informers.NewSharedInformerFactoryWithOptions(k.client, 0, informers.WithNamespace(k.ns))
	inf := f.Core().V1().Pods()
	q := reconcile.NewQueue("podsim")
	_, _ = inf.Informer().AddEventHandler(reconcile.Enqueuer(q))
	lister := inf.Lister()
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !reconcile.WaitForSync(ctx, inf.Informer().HasSynced) {
		return
	}
	reconcile.Run(ctx, q, workers, func(ctx context.Context, key string) error {
		_, name, _ := cache.SplitMetaNamespaceKey(key)
		pod, err := lister.Pods(k.ns).Get(name)
		if err != nil || pod.DeletionTimestamp != nil || ready(pod) {
			return nil
		}
		k.mu.Lock()
		hold := k.hold
		k.mu.Unlock()
		if hold {
			q.AddAfter(key, 50*time.Millisecond)
			return nil
		}
		next := pod.DeepCopy()
		now := metav1.Now()
		next.Status.Phase = corev1.PodRunning
		next.Status.StartTime = &now
		next.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		next.Status.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			next.Status.ContainerStatuses = append(next.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		_, err = k.client.CoreV1().Pods(k.ns).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mark pod %s ready: %w", name, err)
		}
		k.mu.Lock()
		k.marked++
		k.mu.Unlock()
		return nil
	}, nil)
}

func ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
