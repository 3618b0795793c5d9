package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
)

// TestDrainEndsWatches starts a graceful stop (cancels Config.Drain) with
// a watch open: the watch ends cleanly, as at its timeout, so clients can
// watch again on another server, while ordinary requests are still served.
func TestDrainEndsWatches(t *testing.T) {
	drain, startDrain := context.WithCancel(context.Background())
	defer startDrain()
	srv := apitest.Serve(t, apiserver.Config{Store: apitest.NewLocalStore(), Admission: apitest.Admission(), Drain: drain})
	kc, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := kc.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextOf(t, w); ev.Type != watch.Added {
		t.Fatalf("first event %v, want ADDED", ev.Type)
	}

	startDrain()
	select {
	case ev, ok := <-w.ResultChan():
		if ok {
			t.Fatalf("after the drain began the watch sent %v instead of ending", ev.Type)
		}
	case <-ctx.Done():
		t.Fatal("the watch did not end when the drain began")
	}
	if _, err := kc.CoreV1().ConfigMaps("default").Get(ctx, "before", metav1.GetOptions{}); err != nil {
		t.Errorf("a GET while draining: %v", err)
	}
}
