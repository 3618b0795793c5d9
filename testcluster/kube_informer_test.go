package testcluster_test

import (
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeInformerAcrossLeaderKill runs a client-go informer and a raw
// watch of configmaps on the two servers that survive a leader kill,
// while a writer creates, updates and deletes configmaps through them
// before and after the kill. The informer must see every acknowledged
// change once, each object's changes in increasing resourceVersion order,
// and end equal to a List; the raw watch must deliver every acknowledged
// write's event once, all events in increasing resourceVersion order.
func TestKubeInformerAcrossLeaderKill(t *testing.T) {
	const writes = 200
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 90*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kcs := kubeClients(t, c)
	survivors := others(3, leader)
	informOn, watchOn := survivors[0], survivors[1]
	ns := kubeNamespace(t, ctx, kcs[informOn])

	rec := &informerLog{}
	factory := informers.NewSharedInformerFactoryWithOptions(kcs[informOn], 0, informers.WithNamespace(ns))
	informer := factory.Core().V1().ConfigMaps().Informer()
	if _, err := informer.AddEventHandler(rec.handler()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	defer factory.Shutdown()
	defer close(stop)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer never synced")
	}

	list, err := kcs[watchOn].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kcs[watchOn].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	rw := &rawWatchLog{}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		rw.collect(raw)
	}()
	// Stopping the watch may end it with a decode error event; it is
	// checked before.
	defer func() {
		raw.Stop()
		<-collected
	}()

	w := &cmWriter{t: t, ctx: ctx, c: c, ns: ns, clients: []kubernetes.Interface{kcs[survivors[0]], kcs[survivors[1]]}}
	for i := 0; i < writes; i++ {
		if i == writes/2 {
			c.KillServer(leader)
		}
		w.step(i)
	}
	// A last create marks the end: once an observer has seen it, it has
	// seen everything before it.
	w.create("zz-end", "end")
	end := w.acked[len(w.acked)-1].rv
	t.Logf("%d writes acknowledged, %d retried during the leader change", len(w.acked), w.retries)

	final, err := kcs[watchOn].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, cm := range final.Items {
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
		t.Fatalf("informer store never matched the list at %s: %d objects vs %d: %v", final.ResourceVersion, len(got), len(want), err)
	}
	if err := testcluster.WaitFor(ctx, func() bool { return rw.reached(end) }); err != nil {
		t.Fatalf("raw watch never reached the last write at %s: %v (%v)", end, err, rw.err())
	}

	rec.check(t, w.acked)
	rw.check(t, w.acked)
}

// observed is one informer callback: its kind ("add", "update",
// "delete"), the object's name and resourceVersion, and for updates the
// old object's resourceVersion.
type observed struct {
	kind, name, rv, oldRV string
}

// informerLog records an informer's callbacks; they arrive on the
// informer's goroutine while the test goroutine reads.
type informerLog struct {
	mu     sync.Mutex
	events []observed
}

func (l *informerLog) add(o observed) {
	l.mu.Lock()
	l.events = append(l.events, o)
	l.mu.Unlock()
}

func (l *informerLog) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			cm := obj.(*corev1.ConfigMap)
			l.add(observed{"add", cm.Name, cm.ResourceVersion, ""})
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*corev1.ConfigMap), newObj.(*corev1.ConfigMap)
			l.add(observed{"update", n.Name, n.ResourceVersion, o.ResourceVersion})
		},
		DeleteFunc: func(obj any) {
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				l.add(observed{"delete", o.Name, o.ResourceVersion, ""})
			case cache.DeletedFinalStateUnknown:
				// A relist found the object gone: there is no delete event,
				// so no resourceVersion of its deletion.
				cm := o.Obj.(*corev1.ConfigMap)
				l.add(observed{"delete-unknown", cm.Name, "", cm.ResourceVersion})
			}
		},
	}
}

// check verifies the callbacks against the acknowledged writes: per
// object an add first, a delete (if any) last, resourceVersions strictly
// increasing with every update's old object the one seen before it, and
// every acknowledged write seen exactly once.
func (l *informerLog) check(t *testing.T, acked []ackedWrite) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	perName := map[string][]observed{}
	seenRV := map[string]int{}
	for _, e := range l.events {
		perName[e.name] = append(perName[e.name], e)
		if e.rv != "" {
			seenRV[e.rv]++
		}
	}
	for name, evs := range perName {
		var last uint64
		for i, e := range evs {
			switch {
			case e.kind == "add" && i != 0,
				(e.kind == "delete" || e.kind == "delete-unknown") && i != len(evs)-1,
				e.kind == "update" && i == 0:
				t.Fatalf("%s: callbacks out of order: %+v", name, evs)
			case e.kind == "update" && e.oldRV != evs[i-1].rv:
				t.Fatalf("%s: update from %s, but the informer last saw %s: %+v", name, e.oldRV, evs[i-1].rv, evs)
			case e.kind == "delete-unknown":
				continue
			}
			rv := mustRV(t, e.rv)
			if rv <= last {
				t.Fatalf("%s: resourceVersion %d after %d: %+v", name, rv, last, evs)
			}
			last = rv
		}
	}
	for _, a := range acked {
		if a.typ == watch.Deleted {
			evs := perName[a.name]
			if n := len(evs); n == 0 || evs[n-1].kind != "delete" {
				t.Errorf("acknowledged delete of %s not seen: %+v", a.name, evs)
			}
			continue
		}
		if n := seenRV[a.rv]; n != 1 {
			t.Errorf("acknowledged %s of %s at %s seen %d times: %+v", a.typ, a.name, a.rv, n, perName[a.name])
		}
	}
}

// rawWatchLog records the events of a watch.Interface.
type rawWatchLog struct {
	mu     sync.Mutex
	events []watch.Event
	last   uint64
	failed error
}

func (l *rawWatchLog) collect(w watch.Interface) {
	for ev := range w.ResultChan() {
		l.mu.Lock()
		if ev.Type == watch.Error {
			l.failed = apierrors.FromObject(ev.Object)
		} else if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
			l.events = append(l.events, ev)
			if rv, err := strconv.ParseUint(cm.ResourceVersion, 10, 64); err == nil {
				l.last = max(l.last, rv)
			}
		} else {
			l.failed = fmt.Errorf("unexpected %s event object %T", ev.Type, ev.Object)
		}
		l.mu.Unlock()
	}
}

func (l *rawWatchLog) reached(rv string) bool {
	n, _ := strconv.ParseUint(rv, 10, 64)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last >= n
}

func (l *rawWatchLog) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// check verifies the raw events: no errors, strictly increasing
// resourceVersions, per object ADDED first and DELETED last, and every
// acknowledged write's event exactly once.
func (l *rawWatchLog) check(t *testing.T, acked []ackedWrite) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed != nil {
		t.Fatalf("raw watch: %v", l.failed)
	}
	var last uint64
	type event struct {
		typ watch.EventType
		rv  string
	}
	perName := map[string][]event{}
	byRV := map[string][]event{}
	for _, ev := range l.events {
		cm := ev.Object.(*corev1.ConfigMap)
		rv := mustRV(t, cm.ResourceVersion)
		if rv <= last {
			t.Fatalf("raw watch: %s %s at %d after an event at %d", ev.Type, cm.Name, rv, last)
		}
		last = rv
		e := event{ev.Type, cm.ResourceVersion}
		evs := perName[cm.Name]
		if (ev.Type == watch.Added) != (len(evs) == 0) || (len(evs) > 0 && evs[len(evs)-1].typ == watch.Deleted) {
			t.Fatalf("raw watch: %s %s at %s after %+v", ev.Type, cm.Name, cm.ResourceVersion, evs)
		}
		perName[cm.Name] = append(evs, e)
		byRV[cm.ResourceVersion] = append(byRV[cm.ResourceVersion], e)
	}
	for _, a := range acked {
		if a.typ == watch.Deleted {
			evs := perName[a.name]
			if n := len(evs); n == 0 || evs[n-1].typ != watch.Deleted {
				t.Errorf("raw watch: acknowledged delete of %s not seen: %+v", a.name, evs)
			}
			continue
		}
		if evs := byRV[a.rv]; len(evs) != 1 || evs[0].typ != a.typ {
			t.Errorf("raw watch: acknowledged %s of %s at %s seen as %+v", a.typ, a.name, a.rv, evs)
		}
	}
}

// mustRV parses a resourceVersion.
func mustRV(t testing.TB, rv string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}
