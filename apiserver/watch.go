package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	if h.api.drain != nil {
		defer context.AfterFunc(h.api.drain, cancel)()
	}
	ws := &watchStream{h: h, rc: http.NewResponseController(h.w), partial: acceptsAs(h.r, "PartialObjectMetadata")}
	h.w.Header().Set("Content-Type", "application/json")
	h.w.Header().Set("Cache-Control", "no-cache, private")
	h.w.WriteHeader(http.StatusOK)

	src, err := h.watchSource(prefix, sel, start)
	if errors.Is(err, fsm.ErrCompacted) {
		ws.gone(start)
		return nil
	}
	if err != nil {
		return nil
	}
	defer src.close()
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
		evs, progress, err := src.next(wctx)
		wcancel()
		switch {
		case errors.Is(err, fsm.ErrCompacted):
			ws.gone(progress)
			return nil
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			if bookmarks && (ws.bookmark(progress, false) != nil || ws.flush() != nil) {
				return nil
			}
			continue
		}
		// One write deadline covers the batch: setting it per event costs
		// a timer update each, times every watcher.
		ws.arm()
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

// eventSource is where a watch's events come from: the resource's shared
// watch cache, or (for a start older than the cache keeps) the store's
// watch log read by this watch alone. next returns the next events, or
// ctx's error, with a revision up to which every event has been returned.
type eventSource interface {
	next(ctx context.Context) (evs []*watchEvent, progress uint64, err error)
	close()
}

// watchSource returns the source of a watch of keys under prefix after
// revision start. A pod watch whose field selector requires one
// spec.nodeName is served from the cache's node index.
func (h *handler) watchSource(prefix string, sel selector, start uint64) (eventSource, error) {
	node, byNode := "", false
	if h.res.GVR.Group == "" && h.res.GVR.Resource == "pods" {
		node, byNode = sel.fields.RequiresExactMatch("spec.nodeName")
	}
	if sub, ok := h.api.watches.subscribe(h.res, prefix, node, byNode, start); ok {
		return cacheSource{sub: sub, cs: h.api.watches}, nil
	}
	w, err := h.api.store.Store().Watch(prefix, start)
	if err != nil {
		return nil, err
	}
	return &storeSource{w: w, res: h.res}, nil
}

type cacheSource struct {
	sub *watchSub
	cs  *watchCaches
}

func (s cacheSource) next(ctx context.Context) ([]*watchEvent, uint64, error) {
	return s.sub.next(ctx)
}

func (s cacheSource) close() { s.sub.close(s.cs) }

// storeSource reads the store's watch log for one watcher.
type storeSource struct {
	w   *fsm.Watcher
	res *Resource
}

func (s *storeSource) next(ctx context.Context) ([]*watchEvent, uint64, error) {
	evs, err := s.w.Next(ctx)
	if err != nil {
		return nil, s.w.Progress(), err
	}
	out := make([]*watchEvent, len(evs))
	for i, ev := range evs {
		out[i] = newWatchEvent(s.res, ev)
	}
	return out, s.w.Progress(), nil
}

func (s *storeSource) close() {}

// watchStream writes watch events as JSON lines.
type watchStream struct {
	h  *handler
	rc *http.ResponseController
	// partial means the client asked for PartialObjectMetadata.
	partial bool
}

func (ws *watchStream) write(typ string, obj runtime.Object) error {
	var b []byte
	var err error
	if _, isStatus := obj.(*metav1.Status); ws.partial && !isStatus {
		b, err = json.Marshal(partialMetadata(obj))
	} else {
		setTypeMeta(obj)
		b, err = json.Marshal(obj)
	}
	if err != nil {
		return err
	}
	ws.arm()
	return ws.writeRaw(typ, b)
}

// arm gives the writes that follow writeTimeout to complete.
func (ws *watchStream) arm() { ws.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }

// writeRaw writes one event whose object is already encoded, under the
// deadline of the last arm.
func (ws *watchStream) writeRaw(typ string, obj []byte) error {
	w := ws.h.w
	if _, err := io.WriteString(w, `{"type":"`+typ+`","object":`); err != nil {
		return err
	}
	if _, err := w.Write(obj); err != nil {
		return err
	}
	_, err := io.WriteString(w, "}\n")
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

// event writes what a watcher with the selector sees of we, if anything.
func (ws *watchStream) event(we *watchEvent, sel selector) error {
	typ, obj, ok := we.translate(sel)
	if !ok {
		return nil
	}
	b := obj.encoded()
	if ws.partial {
		if b = obj.metadata(); b == nil {
			return nil
		}
	}
	return ws.writeRaw(typ, b)
}
