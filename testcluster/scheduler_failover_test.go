package testcluster_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/testcluster"
)

// TestSchedulerLeaderFailover kills the leader while pods are being
// created and scheduled. The new leader's scheduler must bind every pod,
// each exactly once: a watch from before the first pod sees each pod's
// spec.nodeName set once and never changed, and no node is overcommitted
// although the old leader's assumed decisions died with it.
func TestSchedulerLeaderFailover(t *testing.T) {
	const pods = 120
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 180*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kcs := kubeClients(t, c)
	survivor := others(3, leader)[0]
	kc := kcs[survivor]
	ns := kubeNamespace(t, ctx, kc)
	var nodes []*corev1.Node
	for i := range 6 {
		nodes = append(nodes, schedNode(fmt.Sprintf("fo-%d", i), 2000)) // 20 pods of 100m each: exactly full
	}
	createNodes(t, ctx, kc, nodes...)

	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := kc.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	boundTo := map[string]string{}
	var rebinds []string
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Error || p.Spec.NodeName == "" {
				continue
			}
			mu.Lock()
			if prev, seen := boundTo[p.Name]; seen && prev != p.Spec.NodeName {
				rebinds = append(rebinds, fmt.Sprintf("%s: %s then %s", p.Name, prev, p.Spec.NodeName))
			}
			boundTo[p.Name] = p.Spec.NodeName
			mu.Unlock()
		}
	}()

	for i := range pods {
		if i == pods/3 {
			c.KillServer(leader)
		}
		// Creates go through the survivor; during the election it may
		// refuse, so retry until the deadline.
		p := schedPod(ns, fmt.Sprintf("p%03d", i), 100)
		if err := testcluster.WaitFor(ctx, func() bool {
			_, err := kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			return err == nil || apierrors.IsAlreadyExists(err)
		}); err != nil {
			t.Fatalf("create %s: %v", p.Name, err)
		}
	}
	all := waitPods(t, ctx, kc, ns, "every pod bound after the failover", func(ps []corev1.Pod) bool {
		return len(ps) == pods && allBound(ps)
	})
	for node, k := range checkNoOvercommit(t, nodes, all) {
		if k > 20 {
			t.Errorf("node %s holds %d pods, more than fit", node, k)
		}
	}
	// The watch must have seen every binding; then it is stopped.
	if err := testcluster.WaitFor(ctx, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(boundTo) == pods
	}); err != nil {
		t.Fatalf("the watch saw %d bindings of %d: %v", len(boundTo), pods, err)
	}
	w.Stop()
	<-watchDone
	if len(rebinds) > 0 {
		t.Fatalf("pods bound twice: %v", rebinds)
	}
	for _, p := range all {
		if boundTo[p.Name] != p.Spec.NodeName {
			t.Errorf("pod %s is on %s, the watch saw it bound to %s", p.Name, p.Spec.NodeName, boundTo[p.Name])
		}
	}
}
