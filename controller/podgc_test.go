package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := testcluster.Start(t, testcluster.Options{Servers: 3})
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	const ns = "podgc"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, phase corev1.PodPhase) {
		t.Helper()
		p, err := kc.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app:v1"}}}}, metav1.CreateOptions{})
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
	f := informers.NewSharedInformerFactory(kc, 0)
	gc := garbagecollector.New(garbagecollector.Config{Client: kc, Informers: f, Recorder: &record.FakeRecorder{},
		TerminatedPodThreshold: 2, PodGCInterval: 100 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	f.Start(runCtx.Done())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := gc.Run(runCtx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	defer func() {
		stop()
		wg.Wait()
		f.Shutdown()
	}()
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
