package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/skiffhq/skiff/internal/lincheck"
)

// workload is the run's clients: each picks a random key and a random
// server for every operation, and records it in the history.
type workload struct {
	api     *api
	run     string
	keys    []string
	servers int
	hist    *lincheck.History
	// maxOps bounds each client's operations, whatever the deadline.
	maxOps int
	// staleGets makes gets read the local replica (resourceVersion=0),
	// which is not linearizable: the checker's self-test.
	staleGets bool

	done    atomic.Int64 // operations answered (any outcome)
	unknown atomic.Int64
	skipped atomic.Int64 // no-effect answers left out of the history
}

// known is what a client last saw of a key: what a CAS expects.
type known struct {
	value string
	rev   uint64
}

// weights of get, create, update, cas, delete.
var weights = []struct {
	kind lincheck.Kind
	w    int
}{{lincheck.Get, 30}, {lincheck.Create, 15}, {lincheck.Update, 15}, {lincheck.CAS, 25}, {lincheck.Delete, 15}}

func pickKind(r *rand.Rand) lincheck.Kind {
	n := r.IntN(100)
	for _, x := range weights {
		if n < x.w {
			return x.kind
		}
		n -= x.w
	}
	return lincheck.Get
}

// start runs clients until ctx ends; wait for them with the returned
// WaitGroup.
func (w *workload) start(ctx context.Context, clients int, seed uint64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(ctx, id, clients, rand.New(rand.NewPCG(seed, uint64(id))))
		}()
	}
	return &wg
}

func (w *workload) client(ctx context.Context, id, clients int, r *rand.Rand) {
	seen := map[string]known{}
	// procID names the client in the history; it changes after an
	// unknown outcome, as a crashed process is replaced in Jepsen, so
	// that each history client has at most one operation pending.
	procID := id
	for seq := 0; seq < w.maxOps && ctx.Err() == nil; seq++ {
		key := w.keys[r.IntN(len(w.keys))]
		in := lincheck.Input{Kind: pickKind(r), Key: key}
		var expectRev uint64
		switch in.Kind {
		case lincheck.Create, lincheck.Update:
			in.Value = fmt.Sprintf("%s-c%d-%d", w.run, id, seq)
		case lincheck.CAS:
			k, ok := seen[key]
			if !ok {
				in.Kind = lincheck.Get
				break
			}
			in.Value, in.Expect, expectRev = fmt.Sprintf("%s-c%d-%d", w.run, id, seq), k.value, k.rev
		}
		call := w.hist.Begin(procID, in)
		out, definite, _ := w.api.call(ctx, r.IntN(w.servers), w.run, in, expectRev, w.staleGets)
		if ctx.Err() != nil && out.Result == lincheck.Unknown {
			// The run ended under the request: its outcome is unknown
			// and it must still be recorded as such.
			call.End(out)
			w.done.Add(1)
			w.unknown.Add(1)
			return
		}
		w.done.Add(1)
		if !definite {
			w.skipped.Add(1)
			continue
		}
		call.End(out)
		switch {
		case out.Result == lincheck.Unknown:
			w.unknown.Add(1)
			delete(seen, key)
			procID += clients
		case out.Result == lincheck.OK && in.Kind == lincheck.Get:
			seen[key] = known{out.Value, out.Rev}
		case out.Result == lincheck.OK && in.Kind == lincheck.Delete, out.Result == lincheck.NotFound, out.Result == lincheck.Conflict:
			delete(seen, key)
		case out.Result == lincheck.OK && out.Rev != 0:
			seen[key] = known{in.Value, out.Rev}
		}
	}
}
