package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/testcluster"
)

// watchLogSize is the servers' watch log in TestKubeWatchExpired, and
// logOverflow a number of writes that surely overflows it.
const (
	watchLogSize = 16
	logOverflow  = 3 * watchLogSize
)

// TestKubeWatchExpired checks 410 Gone: a watch from a resourceVersion
// older than the servers' watch log keeps ends with an ERROR event of
// status 410 (Expired), and a reflector whose watch starts that late
// relists and converges.
func TestKubeWatchExpired(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Raft: config.Raft{WatchLogSize: watchLogSize}})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	writes := 0
	// write creates or updates one of ten configmaps through the next
	// server.
	write := func() {
		t.Helper()
		writes++
		cms := kcs[writes%3].CoreV1().ConfigMaps(ns)
		name := fmt.Sprintf("cm-%d", writes%10)
		data := map[string]string{"n": fmt.Sprint(writes)}
		if writes <= 10 {
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		patch := fmt.Appendf(nil, `{"data":{"n":%q}}`, data["n"])
		if _, err := cms.Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("watch", func(t *testing.T) {
		old, err := kcs[0].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < logOverflow; i++ {
			write()
		}
		for i, kc := range kcs {
			w, err := kc.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion})
			if err != nil {
				t.Fatalf("server %d: watch from %s: %v", i, old.ResourceVersion, err)
			}
			ev, ok := nextEvent(ctx, w)
			if !ok || ev.Type != watch.Error {
				t.Fatalf("server %d: watch from %s: got %v %+v, want an ERROR event", i, old.ResourceVersion, ok, ev)
			}
			err = apierrors.FromObject(ev.Object)
			var st apierrors.APIStatus
			if !apierrors.IsResourceExpired(err) || !errors.As(err, &st) || st.Status().Code != http.StatusGone {
				t.Fatalf("server %d: watch from %s: %v (%+v), want 410 Expired", i, old.ResourceVersion, err, ev.Object)
			}
			var asked, oldest uint64
			if _, err := fmt.Sscanf(st.Status().Message, "too old resource version: %d (%d)", &asked, &oldest); err != nil ||
				strconv.FormatUint(asked, 10) != old.ResourceVersion || oldest <= asked {
				t.Fatalf("server %d: 410 message %q: want the revision asked for (%s) and a newer oldest one", i, st.Status().Message, old.ResourceVersion)
			}
			if ev, ok := nextEvent(ctx, w); ok {
				t.Fatalf("server %d: event after the 410: %+v", i, ev)
			}
			w.Stop()
		}

		// A watch from a revision the log still holds gets the changes.
		recent, err := kcs[1].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := kcs[2].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: recent.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		write()
		if ev, ok := nextEvent(ctx, w); !ok || ev.Type != watch.Modified {
			t.Fatalf("watch from a recent revision: %v %+v, want MODIFIED", ok, ev)
		}
	})

	t.Run("reflector relists", func(t *testing.T) {
		lw := newLateWatch(kcs[1], ns)
		informer := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { informer.Run(stop) })
		defer wg.Wait()
		defer close(stop)

		// The reflector listed and now asks to watch from the list's
		// revision; more writes than the log holds happen before its
		// watch reaches the server.
		select {
		case <-lw.asked:
		case <-ctx.Done():
			t.Fatal("the reflector never watched")
		}
		for i := 0; i < logOverflow; i++ {
			write()
		}
		close(lw.release)
		if err := testcluster.WaitFor(ctx, func() bool { return lw.lists() >= 2 }); err != nil {
			t.Fatalf("the reflector never relisted: %v", err)
		}
		if !lw.sawExpired() {
			t.Fatal("the reflector relisted without its watch getting a 410")
		}
		// More writes than the log holds, now with the watch following.
		for i := 0; i < logOverflow; i++ {
			write()
		}
		list, err := kcs[0].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, cm := range list.Items {
			want[cm.Name] = cm.ResourceVersion
		}
		var got map[string]string
		if err := testcluster.WaitFor(ctx, func() bool {
			got = map[string]string{}
			for _, o := range informer.GetStore().List() {
				cm := o.(*corev1.ConfigMap)
				got[cm.Name] = cm.ResourceVersion
			}
			return maps.Equal(got, want)
		}); err != nil {
			t.Fatalf("informer store %v never matched the list %v: %v", got, want, err)
		}
	})
}

// lateWatch is a ListerWatcher whose first watch reaches the server only
// once release is closed, as a reflector's would after a long pause. It
// counts lists and notices 410s. It uses plain list and watch rather than
// a streaming list, so that the reflector watches from its list's
// revision.
type lateWatch struct {
	*cache.ListWatch
	asked   chan struct{} // closed when the first watch is asked for
	release chan struct{} // closed by the test to let it through

	mu      sync.Mutex
	nLists  int
	nWatch  int
	expired bool
}

func newLateWatch(kc kubernetes.Interface, ns string) *lateWatch {
	lw := &lateWatch{asked: make(chan struct{}), release: make(chan struct{})}
	cms := kc.CoreV1().ConfigMaps(ns)
	lw.ListWatch = &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			lw.mu.Lock()
			lw.nLists++
			lw.mu.Unlock()
			return cms.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			lw.mu.Lock()
			lw.nWatch++
			first := lw.nWatch == 1
			lw.mu.Unlock()
			if first {
				close(lw.asked)
				select {
				case <-lw.release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			w, err := cms.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
				if ev.Type == watch.Error && apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) {
					lw.mu.Lock()
					lw.expired = true
					lw.mu.Unlock()
				}
				return ev, true
			}), nil
		},
	}
	return lw
}

// IsWatchListSemanticsUnSupported makes the reflector list, then watch.
func (lw *lateWatch) IsWatchListSemanticsUnSupported() bool { return true }

func (lw *lateWatch) lists() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.nLists
}

func (lw *lateWatch) sawExpired() bool {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.expired
}

// nextEvent returns w's next event; ok is false if the watch ended or ctx
// did.
func nextEvent(ctx context.Context, w watch.Interface) (watch.Event, bool) {
	select {
	case ev, ok := <-w.ResultChan():
		return ev, ok
	case <-ctx.Done():
		return watch.Event{}, false
	}
}
