package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/controller/garbagecollector"
	"github.com/skiffhq/skiff/testcluster"
)

// TestTerminatedPodGC runs the garbage collector by itself (New, then the
// factory, then Run, as the leader's runner does) with a threshold of 2
// and checks that of five finished pods the three oldest go, while a
// running pod stays.
func TestTerminatedPodGC(t *testing.T) {
	ctx, kc := gcCluster(t)
	const ns = "podgc"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, phase corev1.PodPhase) {
		t.Helper()
		p, err := kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app:v1"}}, SchedulerName: simScheduler}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = phase
		if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("running", corev1.PodRunning)
	for i := range 5 {
		mk(fmt.Sprintf("done-%d", i), corev1.PodSucceeded)
		// Creation timestamps have one-second resolution; the names
		// break ties the same way the collector does.
	}
	startGC(t, ctx, garbagecollector.Config{Client: kc, TerminatedPodThreshold: 2, PodGCInterval: 100 * time.Millisecond})
	var names []string
	waitFor(t, ctx, "three finished pods deleted", func() bool {
		list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		names = names[:0]
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		return len(names) == 3
	})
	if fmt.Sprint(names) != "[done-3 done-4 running]" {
		t.Fatalf("pods left %v, want the two newest finished and the running one", names)
	}
}

// startGC runs a garbage collector by itself (New, then the factory, then
// Run, as the leader's runner does) until the test ends.
func startGC(t *testing.T, ctx context.Context, cfg garbagecollector.Config) {
	t.Helper()
	f := informers.NewSharedInformerFactory(cfg.Client, 0)
	cfg.Informers, cfg.Recorder = f, &record.FakeRecorder{}
	gc := garbagecollector.New(cfg)
	runCtx, stop := context.WithCancel(ctx)
	f.Start(runCtx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gc.Run(runCtx); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	t.Cleanup(func() {
		stop()
		wg.Wait()
		f.Shutdown()
	})
}

// TestDeletedNodeLeavesNothing deletes a Node that still has a pod bound
// to it and its Lease: the collector removes the Lease (the Node owns it)
// and, after the quarantine, force-deletes the pod no worker will ever
// confirm; a pod on a live node, and the orphan before the node is gone,
// stay.
func TestDeletedNodeLeavesNothing(t *testing.T) {
	ctx, kc := gcCluster(t)
	nodes := map[string]*corev1.Node{}
	for _, name := range []string{"doomed", "alive"} {
		n, err := kc.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
		if _, err := kc.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + name},
			Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "c", Image: "app:v1"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lease := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "doomed", Namespace: corev1.NamespaceNodeLease,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "doomed", UID: nodes["doomed"].UID}}}}
	if _, err := kc.CoordinationV1().Leases(lease.Namespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const quarantine = 500 * time.Millisecond
	startGC(t, ctx, garbagecollector.Config{Client: kc, PodGCInterval: 100 * time.Millisecond, OrphanQuarantine: quarantine})

	// Both pods' nodes exist: several GC passes must leave everything.
	lp, err := kc.CoreV1().Pods("default").Get(ctx, "on-doomed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "three quarantines of GC passes", func() bool {
		// Each poll is a live read; what matters is time passing with the
		// collector running, which the pod's age measures.
		return time.Since(lp.CreationTimestamp.Time) > 3*quarantine+time.Second
	})
	for _, name := range []string{"on-doomed", "on-alive"} {
		if _, err := kc.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("pod %s of an existing node: %v", name, err)
		}
	}

	if err := kc.CoreV1().Nodes().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	waitFor(t, ctx, "the node's Lease and pod gone", func() bool {
		_, lerr := kc.CoordinationV1().Leases(lease.Namespace).Get(ctx, "doomed", metav1.GetOptions{})
		_, perr := kc.CoreV1().Pods("default").Get(ctx, "on-doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(lerr) && apierrors.IsNotFound(perr)
	})
	if d := time.Since(deleted); d < quarantine {
		t.Errorf("the orphan went %v after its node, within the %v quarantine", d, quarantine)
	}
	if _, err := kc.CoreV1().Pods("default").Get(ctx, "on-alive", metav1.GetOptions{}); err != nil {
		t.Errorf("pod of the live node: %v", err)
	}
}

// gcCluster starts three servers (no built-in controllers) and returns a
// context bounding the test and an admin client.
func gcCluster(t *testing.T) (context.Context, kubernetes.Interface) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := testcluster.Start(t, testcluster.Options{Servers: 3})
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, kc
}
