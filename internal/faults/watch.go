package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// watchIdle is how long a watch stream may stay silent before the watcher
// gives up on its server (a paused or isolated one) and resumes on the
// next. It is shorter than the 5 s between bookmarks of an idle stream,
// so watchers also resume, harmlessly, whenever the load pauses.
const watchIdle = 2 * time.Second

// event is one watch event as a watcher received it.
type event struct {
	Type  string
	Name  string
	Value string
	Rev   uint64
}

// gone is a 410 a watcher received: the revision it asked for and the
// oldest one the server said it could serve.
type gone struct {
	Server        int
	Asked, Oldest uint64
	Message       string
}

// watcher follows the run's objects from a revision, resuming from the
// last revision it saw on the next server whenever a stream ends.
type watcher struct {
	api     *api
	run     string
	servers int

	mu      sync.Mutex
	events  []event
	last    uint64 // resume point: last event or bookmark
	gones   []gone
	resumes int
	// notes are stream errors worth showing when a check fails.
	notes []string
	moved chan struct{} // signalled (capacity 1) when last advances
}

func newWatcher(a *api, run string, servers int, from uint64) *watcher {
	return &watcher{api: a, run: run, servers: servers, last: from, moved: make(chan struct{}, 1)}
}

// loop watches until ctx ends, starting on server first.
func (w *watcher) loop(ctx context.Context, first int) {
	server := first
	for ctx.Err() == nil {
		if err := w.stream(ctx, server); err != nil && ctx.Err() == nil {
			w.note(fmt.Sprintf("s%d: %v", server+1, err))
		}
		w.mu.Lock()
		w.resumes++
		w.mu.Unlock()
		server = (server + 1) % w.servers
	}
}

func (w *watcher) note(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.notes) < 50 {
		w.notes = append(w.notes, s)
	}
}

// wireEvent is a watch event on the wire; Object is a ConfigMap, or a
// Status for ERROR.
type wireEvent struct {
	Type   string `json:"type"`
	Object object `json:"object"`
}

func (w *watcher) stream(ctx context.Context, server int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.mu.Lock()
	from := w.last
	w.mu.Unlock()
	q := url.Values{
		"watch":               {"true"},
		"labelSelector":       {"run=" + w.run},
		"resourceVersion":     {strconv.FormatUint(from, 10)},
		"allowWatchBookmarks": {"true"},
		"timeoutSeconds":      {"60"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.api.url(server)+configMaps+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.api.token)
	idle := time.AfterFunc(watchIdle, cancel)
	defer idle.Stop()
	resp, err := w.api.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("watch answered %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		idle.Reset(watchIdle)
		var ev wireEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("decode event: %w: %.200s", err, sc.Bytes())
		}
		switch ev.Type {
		case "ERROR":
			g := gone{Server: server, Asked: from, Message: ev.Object.Message}
			if ev.Object.Code == http.StatusGone {
				var asked uint64
				fmt.Sscanf(ev.Object.Message, "too old resource version: %d (%d)", &asked, &g.Oldest)
				w.mu.Lock()
				w.gones = append(w.gones, g)
				w.mu.Unlock()
				return fmt.Errorf("410: %s", ev.Object.Message)
			}
			return fmt.Errorf("error event %d: %s", ev.Object.Code, ev.Object.Message)
		case "BOOKMARK":
			w.advance(ev.Object.rev(), nil)
		default:
			w.advance(ev.Object.rev(), &event{Type: ev.Type, Name: ev.Object.Metadata.Name, Value: ev.Object.Data["v"], Rev: ev.Object.rev()})
		}
	}
	return sc.Err()
}

// advance records an event (or a bookmark when ev is nil) at rev. Events
// are kept as they came, even out of order, for the checks to judge.
func (w *watcher) advance(rev uint64, ev *event) {
	w.mu.Lock()
	if ev != nil {
		w.events = append(w.events, *ev)
	}
	if rev > w.last {
		w.last = rev
	}
	w.mu.Unlock()
	select {
	case w.moved <- struct{}{}:
	default:
	}
}

// waitFor blocks until the watcher has seen rev or ctx ends.
func (w *watcher) waitFor(ctx context.Context, rev uint64) error {
	for {
		w.mu.Lock()
		last := w.last
		w.mu.Unlock()
		if last >= rev {
			return nil
		}
		select {
		case <-w.moved:
		case <-ctx.Done():
			return fmt.Errorf("watch reached revision %d, not %d: %w", last, rev, ctx.Err())
		}
	}
}

// snapshot returns what the watcher has received so far.
func (w *watcher) snapshot() (events []event, gones []gone, resumes int, notes []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]event(nil), w.events...), append([]gone(nil), w.gones...), w.resumes, append([]string(nil), w.notes...)
}
