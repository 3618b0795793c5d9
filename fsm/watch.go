package fsm

import (
	"context"
	"errors"
	"sort"
	"strings"
)

// EventType says what happened to a key.
type EventType uint8

const (
	// EventPut is a create or an update; CreateRev == Rev marks a create.
	EventPut EventType = 1
	// EventDelete removes a key; PrevValue holds its last value.
	EventDelete EventType = 2
)

// Event is one change in the watch log. Events of one txn share a revision
// and are delivered together.
type Event struct {
	Type      EventType
	Key       string
	Value     []byte
	PrevValue []byte
	Rev       uint64
	CreateRev uint64
}

// ErrCompacted means a watch asked for (or fell behind to) a revision older
// than the watch log keeps, or the store was restored from a snapshot. The
// client must list again and watch from the list's revision.
var ErrCompacted = errors.New("requested revision has been compacted")

// eventLog is a ring of the most recent events. Every event ever appended
// has a sequence number; the ring holds seq in [first, first+n).
type eventLog struct {
	buf   []Event
	first uint64 // seq of the oldest kept event
	n     int
	// compactRev is the revision a watch must be at or after to be served:
	// the revision of the last evicted event, or of the state the log
	// started from.
	compactRev uint64
}

func newEventLog(size int) eventLog { return eventLog{buf: make([]Event, size)} }

func (l *eventLog) end() uint64 { return l.first + uint64(l.n) }

func (l *eventLog) at(seq uint64) *Event { return &l.buf[seq%uint64(len(l.buf))] }

func (l *eventLog) append(ev Event) {
	if l.n == len(l.buf) {
		l.compactRev = l.at(l.first).Rev
		*l.at(l.first) = Event{}
		l.first++
		l.n--
	}
	*l.at(l.end()) = ev
	l.n++
}

// reset empties the log, as after a restore at rev.
func (l *eventLog) reset(rev uint64) {
	clear(l.buf)
	l.first = l.end()
	l.n = 0
	l.compactRev = rev
}

// seqAfter returns the seq of the first kept event with Rev > rev.
func (l *eventLog) seqAfter(rev uint64) uint64 {
	i := sort.Search(l.n, func(i int) bool { return l.at(l.first+uint64(i)).Rev > rev })
	return l.first + uint64(i)
}

// Watcher follows changes under a key prefix. It holds a cursor into the
// store's watch log and never blocks Apply: a watcher that falls further
// behind than the log keeps gets ErrCompacted. A Watcher is used by one
// goroutine.
type Watcher struct {
	s      *Store
	prefix string
	next   uint64 // seq of the next event to look at
	gen    uint64
	last   uint64 // revision of the last event returned
	// scanned is the revision up to which every event has been examined:
	// no event at or below it is still to come.
	scanned uint64
}

// maxBatch bounds how many events one Next call returns.
const maxBatch = 1000

// Watch returns a watcher of keys with the prefix that delivers every event
// with a revision after rev, in revision order. It fails with ErrCompacted
// if events after rev are no longer kept.
func (s *Store) Watch(prefix string, rev uint64) (*Watcher, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if rev < s.log.compactRev {
		return nil, ErrCompacted
	}
	return &Watcher{s: s, prefix: prefix, next: s.log.seqAfter(rev), gen: s.gen, last: rev, scanned: rev}, nil
}

// CompactRevision returns the oldest revision a watch can start from:
// Watch fails with ErrCompacted for any revision below it.
func (s *Store) CompactRevision() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.log.compactRev
}

// Rev returns the revision of the last event delivered, or the revision the
// watch started from.
func (w *Watcher) Rev() uint64 { return w.last }

// Progress returns a revision such that every event up to it has been
// delivered: a watch resumed from it misses nothing. It is what a
// Kubernetes bookmark reports.
func (w *Watcher) Progress() uint64 { return max(w.scanned, w.last) }

// Next blocks until events are available, ctx ends, or the watch cannot
// continue (ErrCompacted). It returns at most maxBatch events, never
// splitting the events of one revision across calls.
func (w *Watcher) Next(ctx context.Context) ([]Event, error) {
	for {
		evs, wake, err := w.poll()
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

func (w *Watcher) poll() ([]Event, <-chan struct{}, error) {
	s := w.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w.gen != s.gen || w.next < s.log.first {
		return nil, nil, ErrCompacted
	}
	var out []Event
	end := s.log.end()
	for ; w.next < end; w.next++ {
		ev := s.log.at(w.next)
		if len(out) >= maxBatch && ev.Rev != out[len(out)-1].Rev {
			break
		}
		// A watch may start from a revision the store has not reached yet
		// (a client listed on a replica that is further ahead); events up
		// to that revision are already reflected in what it listed.
		if ev.Rev <= w.last {
			continue
		}
		if strings.HasPrefix(ev.Key, w.prefix) {
			out = append(out, *ev)
		}
	}
	if len(out) > 0 {
		w.last = out[len(out)-1].Rev
	}
	if w.next == end {
		w.scanned = max(w.scanned, s.rev)
	} else if w.next > s.log.first {
		w.scanned = max(w.scanned, s.log.at(w.next-1).Rev)
	}
	return out, s.wake, nil
}
