package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// ackedWrite is a configmap write the API acknowledged: its event type,
// the object's name and, for creates and updates, the resourceVersion the
// response carried (a delete's response carries none).
type ackedWrite struct {
	typ      watch.EventType
	name, rv string
}

// cmWriter writes configmaps in one namespace through a rotation of
// servers, one write at a time, and records the acknowledged writes. A
// write that fails while the cluster changes leader is retried once every
// running server is ready again; if the failed attempt was applied after
// all (its outcome was unknown), the retry notices and the write is done
// but not acknowledged. Any other failure ends the test.
type cmWriter struct {
	t       *testing.T
	ctx     context.Context
	c       *testcluster.Cluster
	clients []kubernetes.Interface
	ns      string
	n       int // requests so far; picks the next client
	live    []string
	acked   []ackedWrite
	retries int
}

// maxWriteAttempts bounds the attempts of one write.
const maxWriteAttempts = 20

func (w *cmWriter) next() kubernetes.Interface {
	w.n++
	return w.clients[w.n%len(w.clients)]
}

// step makes write i of a fixed mix: three creates, then an update of a
// live object, then a delete of the oldest live object.
func (w *cmWriter) step(i int) {
	switch {
	case i%5 == 3 && len(w.live) > 0:
		w.update(w.live[i%len(w.live)], fmt.Sprint(i))
	case i%5 == 4 && len(w.live) > 0:
		w.delete(w.live[0])
	default:
		w.create(fmt.Sprintf("cm-%04d", i), fmt.Sprint(i))
	}
}

func (w *cmWriter) create(name, value string) {
	w.t.Helper()
	for attempt := 0; ; attempt++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": value}}
		out, err := w.next().CoreV1().ConfigMaps(w.ns).Create(w.ctx, cm, metav1.CreateOptions{})
		if err == nil {
			w.acked = append(w.acked, ackedWrite{watch.Added, name, out.ResourceVersion})
		}
		if err == nil || (apierrors.IsAlreadyExists(err) && attempt > 0) {
			w.live = append(w.live, name)
			return
		}
		w.retry(attempt, "create "+name, err)
	}
}

func (w *cmWriter) update(name, value string) {
	w.t.Helper()
	for attempt := 0; ; attempt++ {
		kc := w.next()
		cur, err := kc.CoreV1().ConfigMaps(w.ns).Get(w.ctx, name, metav1.GetOptions{})
		if err != nil {
			w.retry(attempt, "get "+name, err)
			continue
		}
		if cur.Data["v"] == value && attempt > 0 {
			return
		}
		cur.Data = map[string]string{"v": value}
		out, err := kc.CoreV1().ConfigMaps(w.ns).Update(w.ctx, cur, metav1.UpdateOptions{})
		if err == nil {
			w.acked = append(w.acked, ackedWrite{watch.Modified, name, out.ResourceVersion})
			return
		}
		if apierrors.IsConflict(err) && attempt > 0 {
			// An earlier attempt of ours was applied after all.
			continue
		}
		w.retry(attempt, "update "+name, err)
	}
}

func (w *cmWriter) delete(name string) {
	w.t.Helper()
	for attempt := 0; ; attempt++ {
		err := w.next().CoreV1().ConfigMaps(w.ns).Delete(w.ctx, name, metav1.DeleteOptions{})
		if err == nil {
			w.acked = append(w.acked, ackedWrite{watch.Deleted, name, ""})
		}
		if err == nil || (apierrors.IsNotFound(err) && attempt > 0) {
			w.live = w.live[1:]
			return
		}
		w.retry(attempt, "delete "+name, err)
	}
}

// retry fails the test unless err is one a leader change explains and
// attempts remain, then waits until every running server is ready.
func (w *cmWriter) retry(attempt int, what string, err error) {
	w.t.Helper()
	if !transient(err) || attempt+1 >= maxWriteAttempts {
		w.t.Fatalf("%s (attempt %d): %v", what, attempt+1, err)
	}
	w.retries++
	ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
	defer cancel()
	if rerr := w.c.WaitReady(ctx); rerr != nil {
		w.t.Fatalf("%s failed (%v) and the cluster did not become ready: %v", what, err, rerr)
	}
}

// transient reports whether err is what a request may get while the
// cluster elects a leader: a timeout, unavailability, or a transport
// error without an API status.
func transient(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return true
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err)
}
