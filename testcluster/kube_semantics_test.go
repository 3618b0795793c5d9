package testcluster_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeUpdateRace has 16 clients spread over the servers race
// read-modify-write increments of one configmap's counter. Optimistic
// concurrency must let exactly one update through per resourceVersion:
// the successful updates chain, each from the resourceVersion the
// previous one produced, the losers get 409 Conflict, and the counter
// ends equal to the number of successes.
func TestKubeUpdateRace(t *testing.T) {
	const (
		workers = 16
		rounds  = 20
	)
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	initial, err := kcs[0].CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	type success struct {
		prev, next uint64
		value      int
	}
	var (
		mu        sync.Mutex
		successes []success
		conflicts int
		failures  []error
	)
	wctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		cms := kcs[g%len(kcs)].CoreV1().ConfigMaps(ns)
		wg.Go(func() {
			for r := 0; r < rounds && wctx.Err() == nil; r++ {
				cur, err := cms.Get(wctx, "counter", metav1.GetOptions{})
				if err == nil {
					n, aerr := strconv.Atoi(cur.Data["n"])
					if aerr != nil {
						t.Errorf("counter holds %q: %v", cur.Data["n"], aerr)
						return
					}
					prev := cur.ResourceVersion
					cur.Data["n"] = strconv.Itoa(n + 1)
					var out *corev1.ConfigMap
					if out, err = cms.Update(wctx, cur, metav1.UpdateOptions{}); err == nil {
						mu.Lock()
						successes = append(successes, success{parseRV(prev), parseRV(out.ResourceVersion), n + 1})
						mu.Unlock()
						continue
					}
				}
				mu.Lock()
				if apierrors.IsConflict(err) {
					conflicts++
				} else {
					failures = append(failures, fmt.Errorf("worker %d round %d: %w", g, r, err))
				}
				mu.Unlock()
				if !apierrors.IsConflict(err) {
					return
				}
			}
		})
	}
	wg.Wait()
	if wctx.Err() != nil {
		t.Fatalf("the workers did not finish in time: %d updates, %d conflicts", len(successes), conflicts)
	}
	for _, err := range failures {
		t.Error(err)
	}
	if len(failures) > 0 {
		t.FailNow()
	}

	if len(successes)+conflicts != workers*rounds || len(successes) == 0 {
		t.Fatalf("%d updates and %d conflicts of %d attempts", len(successes), conflicts, workers*rounds)
	}
	slices.SortFunc(successes, func(a, b success) int { return cmp.Compare(a.next, b.next) })
	prev := mustRV(t, initial.ResourceVersion)
	for i, s := range successes {
		if s.prev != prev || s.value != i+1 {
			t.Fatalf("update %d: from resourceVersion %d to %d setting %d; want it from %d setting %d (two updates from one resourceVersion?)", i, s.prev, s.next, s.value, prev, i+1)
		}
		prev = s.next
	}
	final, err := kcs[1].CoreV1().ConfigMaps(ns).Get(ctx, "counter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if final.Data["n"] != strconv.Itoa(len(successes)) || mustRV(t, final.ResourceVersion) != prev {
		t.Fatalf("final counter %s at %s; want %d at %d", final.Data["n"], final.ResourceVersion, len(successes), prev)
	}
	t.Logf("%d updates, %d conflicts", len(successes), conflicts)
}

// parseRV parses a resourceVersion the server sent, 0 if it is not a
// number (which the chain check then reports).
func parseRV(rv string) uint64 {
	n, _ := strconv.ParseUint(rv, 10, 64)
	return n
}

// TestKubeWatchSemantics checks bookmarks: an idle watch that allows them
// gets one within 10 seconds at or after the revision it started from,
// and a watch resumed from it misses nothing; a watch with
// sendInitialEvents gets the existing objects as ADDED, then a bookmark
// marking the end of the initial events. It also checks what a watch
// with a label selector sees of an object that stops and starts matching.
func TestKubeWatchSemantics(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	for _, name := range []string{"a", "b", "c"} {
		if _, err := kcs[1].CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("idle", func(t *testing.T) {
		list, err := kcs[0].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := kcs[2].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ev, ok := nextEvent(bctx, w)
		if !ok || ev.Type != watch.Bookmark {
			t.Fatalf("idle watch from %s: %v %+v, want a BOOKMARK within 10s", list.ResourceVersion, ok, ev)
		}
		mark := ev.Object.(*corev1.ConfigMap).ResourceVersion
		if mustRV(t, mark) < mustRV(t, list.ResourceVersion) {
			t.Fatalf("bookmark at %s before the list's %s", mark, list.ResourceVersion)
		}

		// A change after the bookmark reaches both this watch and one
		// resumed from the bookmark, once.
		upd, err := kcs[0].CoreV1().ConfigMaps(ns).Patch(ctx, "a", "application/merge-patch+json", []byte(`{"data":{"k":"v"}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resumed, err := kcs[1].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: mark})
		if err != nil {
			t.Fatal(err)
		}
		defer resumed.Stop()
		for name, w := range map[string]watch.Interface{"watch": w, "resumed watch": resumed} {
			ev, ok := nextEvent(ctx, w)
			if !ok || ev.Type != watch.Modified || ev.Object.(*corev1.ConfigMap).ResourceVersion != upd.ResourceVersion {
				t.Fatalf("%s: %v %+v, want MODIFIED at %s", name, ok, ev, upd.ResourceVersion)
			}
		}
	})

	t.Run("initial events", func(t *testing.T) {
		list, err := kcs[2].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i, rv := range []string{"", list.ResourceVersion} {
			w, err := kcs[i].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{
				ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
				SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
			})
			if err != nil {
				t.Fatalf("watch from %q: %v", rv, err)
			}
			var added []string
			for {
				ev, ok := nextEvent(ctx, w)
				if !ok {
					t.Fatalf("watch from %q ended after %v", rv, added)
				}
				cm := ev.Object.(*corev1.ConfigMap)
				if ev.Type == watch.Added {
					added = append(added, cm.Name)
					continue
				}
				if ev.Type != watch.Bookmark || cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
					t.Fatalf("watch from %q: after ADDED %v got %s %+v, want a BOOKMARK ending the initial events", rv, added, ev.Type, cm.ObjectMeta)
				}
				if mustRV(t, cm.ResourceVersion) < mustRV(t, list.ResourceVersion) {
					t.Fatalf("watch from %q: initial events end at %s, before the list's %s", rv, cm.ResourceVersion, list.ResourceVersion)
				}
				break
			}
			slices.Sort(added)
			if !slices.Equal(added, []string{"a", "b", "c"}) {
				t.Fatalf("watch from %q: initial ADDED %v, want a, b, c", rv, added)
			}
			w.Stop()
		}
	})

	t.Run("selector transitions", func(t *testing.T) {
		cms := kcs[0].CoreV1().ConfigMaps(ns)
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sel", Labels: map[string]string{"sel": "yes"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		list, err := kcs[1].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "sel=yes"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := kcs[1].CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "sel=yes", ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		// As in Kubernetes, an object that stops matching is DELETED with
		// its last matching content at the revision of the change; one that
		// starts matching is ADDED.
		steps := []struct {
			patch   string
			typ     watch.EventType
			label   string
			deleted bool
		}{
			{`{"data":{"k":"1"}}`, watch.Modified, "yes", false},
			{`{"metadata":{"labels":{"sel":"no"}}}`, watch.Deleted, "yes", false},
			{`{"data":{"k":"2"}}`, "", "", false},
			{`{"metadata":{"labels":{"sel":"yes"}}}`, watch.Added, "yes", false},
			{"", watch.Deleted, "yes", true},
		}
		for i, st := range steps {
			var rv string
			if st.deleted {
				if err := cms.Delete(ctx, "sel", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				out, err := cms.Patch(ctx, "sel", "application/merge-patch+json", []byte(st.patch), metav1.PatchOptions{})
				if err != nil {
					t.Fatal(err)
				}
				rv = out.ResourceVersion
			}
			if st.typ == "" {
				continue
			}
			ev, ok := nextEvent(ctx, w)
			if !ok {
				t.Fatalf("step %d: the watch ended", i)
			}
			cm := ev.Object.(*corev1.ConfigMap)
			if ev.Type != st.typ || cm.Labels["sel"] != st.label || (rv != "" && cm.ResourceVersion != rv) {
				t.Fatalf("step %d (%s): got %s labels %v at %s; want %s labels sel=%s at %s", i, st.patch, ev.Type, cm.Labels, cm.ResourceVersion, st.typ, st.label, rv)
			}
		}
	})
}
