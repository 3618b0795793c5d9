package faults

import (
	"fmt"

	"github.com/anishathalye/porcupine"

	"github.com/skiffhq/skiff/internal/lincheck"
)

// maxViolations bounds how many violations one check reports.
const maxViolations = 20

// checkWatches compares what the watchers received with each other and
// with the history of writes. It returns the violations found:
//   - a watcher received revisions out of order or twice;
//   - two watchers received different sequences (one missed an event);
//   - an acknowledged create, update or compare-and-swap has no event at
//     its revision with its value, or an acknowledged delete has no
//     DELETED event of its key;
//   - an event that no write (acknowledged or of unknown outcome) can
//     explain, or a written value that shows up twice (applied twice).
//
// upTo is the revision every watcher was waited for; events after it are
// ignored so that watchers stopped a moment apart compare equal.
func checkWatches(ops []porcupine.Operation, streams [][]event, upTo uint64) []string {
	var v []string
	add := func(format string, args ...any) {
		if len(v) < maxViolations {
			v = append(v, fmt.Sprintf(format, args...))
		}
	}
	for i := range streams {
		var kept []event
		var last uint64
		for _, ev := range streams[i] {
			if ev.Rev <= last {
				add("watcher %d: event %s %s at revision %d after revision %d", i, ev.Type, ev.Name, ev.Rev, last)
			}
			last = max(last, ev.Rev)
			if ev.Rev <= upTo {
				kept = append(kept, ev)
			}
		}
		streams[i] = kept
	}
	if len(streams) == 0 {
		return v
	}
	ref := streams[0]
	for i, s := range streams[1:] {
		if d := firstDifference(ref, s); d != "" {
			add("watchers 0 and %d differ: %s", i+1, d)
		}
	}

	byRev := map[uint64]event{}
	seenValue := map[string]uint64{}
	deletes := map[string]int{}
	for _, ev := range ref {
		byRev[ev.Rev] = ev
		switch ev.Type {
		case "DELETED":
			deletes[ev.Name]++
		default:
			if r, dup := seenValue[ev.Value]; dup {
				add("value %s of %s written twice, at revisions %d and %d", ev.Value, ev.Name, r, ev.Rev)
			}
			seenValue[ev.Value] = ev.Rev
		}
	}

	// written maps each value some write may have written to the kind of
	// event it must show up as.
	written := map[string]string{}
	ackedDeletes := map[string]int{}
	for _, op := range ops {
		in, out := op.Input.(lincheck.Input), op.Output.(lincheck.Output)
		switch in.Kind {
		case lincheck.Create:
			written[in.Value] = "ADDED"
		case lincheck.Update, lincheck.CAS:
			written[in.Value] = "MODIFIED"
		case lincheck.Delete:
			if out.Result == lincheck.OK {
				ackedDeletes[in.Key]++
			}
			continue
		default:
			continue
		}
		if out.Result != lincheck.OK {
			continue
		}
		ev, ok := byRev[out.Rev]
		switch {
		case out.Rev == 0:
			add("acknowledged %s of %s carried no revision", in.Kind, in.Key)
		case out.Rev > upTo:
			add("acknowledged %s of %s at revision %d, after the last one waited for (%d)", in.Kind, in.Key, out.Rev, upTo)
		case !ok:
			add("acknowledged %s of %s=%s at revision %d: no watcher saw it", in.Kind, in.Key, in.Value, out.Rev)
		case ev.Name != in.Key || ev.Value != in.Value || ev.Type != written[in.Value]:
			add("acknowledged %s of %s=%s at revision %d, but the event there is %s %s=%s", in.Kind, in.Key, in.Value, out.Rev, ev.Type, ev.Name, ev.Value)
		}
	}
	for key, n := range ackedDeletes {
		if deletes[key] < n {
			add("%d acknowledged deletes of %s, %d DELETED events", n, key, deletes[key])
		}
	}
	for _, ev := range ref {
		if ev.Type == "DELETED" {
			continue
		}
		if want, ok := written[ev.Value]; !ok || want != ev.Type {
			add("event %s %s=%s at revision %d: no write explains it", ev.Type, ev.Name, ev.Value, ev.Rev)
		}
	}
	return v
}

func firstDifference(a, b []event) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("event %d is %+v in one and %+v in the other", i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d events against %d", len(a), len(b))
	}
	return ""
}

// checkGones returns the 410s that were not for a really compacted
// revision: asked at or after the oldest revision the server said it had.
func checkGones(gones []gone) []string {
	var v []string
	for _, g := range gones {
		if g.Oldest == 0 || g.Asked >= g.Oldest {
			v = append(v, fmt.Sprintf("s%d answered 410 for revision %d: %q", g.Server+1, g.Asked, g.Message))
		}
	}
	return v
}
