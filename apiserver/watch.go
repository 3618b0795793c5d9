package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/fsm"
)

// Watch timing.
const (
	// bookmarkInterval is how often an idle watch that allows bookmarks
	// gets one.
	bookmarkInterval = 5 * time.Second
	// writeTimeout bounds one write to a watch client: a client that
	// does not read is dropped rather than buffered for.
	writeTimeout = 30 * time.Second
)

// watch serves a watch request. Without resourceVersion, or with
// sendInitialEvents=true, it first sends the current objects as ADDED
// events (then, if bookmarks are allowed, a bookmark marking the end of
// the initial events); with resourceVersion=N it sends every change after
// N. A revision older than the watch log gets an ERROR event with 410
// Gone, after which the client relists.
func (h *handler) watch() error {
	sel, err := h.selector()
	if err != nil {
		return err
	}
	q := h.r.URL.Query()
	if h.ri.Name != "" {
		// /watch/namespaces/ns/pods/name: a watch of one object.
		sel.fields = andName(sel, h.ri.Name)
	}
	timeout := time.Duration(1800+rand.IntN(1800)) * time.Second
	if v := q.Get("timeoutSeconds"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s < 0 {
			return apierrors.NewBadRequest("invalid timeoutSeconds " + strconv.Quote(v))
		}
		timeout = time.Duration(s) * time.Second
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	rv := q.Get("resourceVersion")
	sendInitial := rv == "" || q.Get("sendInitialEvents") == "true"
	if rv == "0" && q.Get("sendInitialEvents") == "" {
		sendInitial = true
	}
	prefix := h.res.KeyPrefix(h.ri.Namespace)

	var initial []runtime.Object
	var start uint64
	if sendInitial {
		if err := h.readRev(rv); err != nil {
			return err
		}
		if initial, _, _, start, err = h.collect(prefix, "", 0, sel); err != nil {
			return err
		}
	} else if rv == "0" {
		start = h.api.store.Store().Rev()
	} else if start, err = strconv.ParseUint(rv, 10, 64); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", rv))
	}

	ctx, cancel := context.WithTimeout(h.ctx(), timeout)
	defer cancel()
	ws := &watchStream{h: h, rc: http.NewResponseController(h.w)}
	h.w.Header().Set("Content-Type", "application/json")
	h.w.Header().Set("Cache-Control", "no-cache, private")
	h.w.WriteHeader(http.StatusOK)

	w, err := h.api.store.Store().Watch(prefix, start)
	if errors.Is(err, fsm.ErrCompacted) {
		ws.gone(start)
		return nil
	}
	if err != nil {
		return nil
	}
	for _, obj := range initial {
		if ws.write("ADDED", obj) != nil {
			return nil
		}
	}
	if sendInitial && bookmarks && q.Get("sendInitialEvents") == "true" {
		if ws.bookmark(start, true) != nil {
			return nil
		}
	}
	if ws.flush() != nil {
		return nil
	}
	for {
		wctx, wcancel := context.WithTimeout(ctx, bookmarkInterval)
		evs, err := w.Next(wctx)
		wcancel()
		switch {
		case errors.Is(err, fsm.ErrCompacted):
			ws.gone(w.Progress())
			return nil
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			if bookmarks && (ws.bookmark(w.Progress(), false) != nil || ws.flush() != nil) {
				return nil
			}
			continue
		}
		for _, ev := range evs {
			if ws.event(ev, sel) != nil {
				return nil
			}
		}
		if ws.flush() != nil {
			return nil
		}
	}
}

// watchStream writes watch events as JSON lines.
type watchStream struct {
	h  *handler
	rc *http.ResponseController
}

func (ws *watchStream) write(typ string, obj runtime.Object) error {
	setTypeMeta(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	ws.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = fmt.Fprintf(ws.h.w, "{\"type\":%q,\"object\":%s}\n", typ, b)
	return err
}

func (ws *watchStream) flush() error {
	ws.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	return ws.rc.Flush()
}

// bookmark sends a BOOKMARK: an empty object of the resource's kind whose
// resourceVersion tells the client where to resume.
func (ws *watchStream) bookmark(rev uint64, initialEnd bool) error {
	obj := ws.h.res.New()
	m := metaOf(obj)
	m.SetResourceVersion(strconv.FormatUint(rev, 10))
	if initialEnd {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return ws.write("BOOKMARK", obj)
}

// gone ends the watch with a 410 Expired status. Like kube-apiserver's,
// the message names the revision asked for and, in parentheses, the oldest
// one this server can still watch from.
func (ws *watchStream) gone(rev uint64) {
	oldest := ws.h.api.store.Store().CompactRevision()
	st := apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rev, oldest)).Status()
	st.Kind, st.APIVersion = "Status", "v1"
	ws.write("ERROR", &st)
	ws.flush()
}

// event translates one store event into the watch event the client sees,
// honouring selectors: an object that stops matching is DELETED for this
// watcher, one that starts matching is ADDED.
func (ws *watchStream) event(ev fsm.Event, sel selector) error {
	res := ws.h.res
	var cur, prev runtime.Object
	var err error
	if ev.Type == fsm.EventPut {
		if cur, err = decodeStored(res, fsm.KV{Key: ev.Key, Value: ev.Value, CreateRev: ev.CreateRev, ModRev: ev.Rev}); err != nil {
			return nil
		}
	}
	if ev.PrevValue != nil {
		if prev, err = decodeStored(res, fsm.KV{Key: ev.Key, Value: ev.PrevValue, ModRev: ev.Rev}); err != nil {
			prev = nil
		}
	}
	curOK := cur != nil && sel.matches(cur)
	prevOK := prev != nil && sel.matches(prev)
	switch {
	case ev.Type == fsm.EventDelete && prevOK:
		return ws.write("DELETED", prev)
	case curOK && ev.CreateRev == ev.Rev:
		return ws.write("ADDED", cur)
	case curOK && prevOK:
		return ws.write("MODIFIED", cur)
	case curOK:
		return ws.write("ADDED", cur)
	case prevOK:
		// Like Kubernetes: the last content the watcher's selector
		// matched, at the revision of the change.
		return ws.write("DELETED", prev)
	}
	return nil
}
