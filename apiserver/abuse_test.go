package apiserver_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/skiffhq/skiff/apiserver/apitest"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/internal/abuse"
)

// abuseCases is how many cases TestAbuse sends: SKIFF_ABUSE_N, 400 by
// default (`make abuse` sends 10,000).
func abuseCases(t *testing.T) int {
	t.Helper()
	n := 400
	if v := os.Getenv("SKIFF_ABUSE_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("SKIFF_ABUSE_N=%q: want a positive number", v)
		}
	}
	return n
}

// abuseSeed is the generator seed: SKIFF_ABUSE_SEED, 1 by default, so a
// failure reproduces.
func abuseSeed(t *testing.T) uint64 {
	t.Helper()
	v := os.Getenv("SKIFF_ABUSE_SEED")
	if v == "" {
		return 1
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("SKIFF_ABUSE_SEED=%q: %v", v, err)
	}
	return s
}

// TestAbuse sends generated bad requests to an API over a local store:
// every answer must be a 4xx the case allows, as a Status; no failure may
// change the store; huge bodies must be refused without being held; and
// the heap must not grow without bound.
func TestAbuse(t *testing.T) {
	n, seed := abuseCases(t), abuseSeed(t)
	srv, st := apitest.NewServer(t)
	target := abuse.Target{BaseURL: srv.URL, Client: srv.Client()}
	g := abuse.New(seed, abuse.Options{Validation: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	for _, req := range g.Prelude() {
		if resp, err := target.Send(ctx, req); err != nil || resp.Code/100 != 2 {
			t.Fatalf("prelude %s: %d %v %s", req, resp.Code, err, resp.Body)
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	counts := map[abuse.Class]int{}
	start := time.Now()
	for range n {
		c := g.Next()
		counts[c.Class]++
		if err := target.Prepare(ctx, c); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		_, hashBefore := st.Store().Hash()
		var allocs runtime.MemStats
		runtime.ReadMemStats(&allocs)
		resp, err := abuseSend(ctx, target, c)
		if err != nil {
			t.Fatalf("seed %d, %s: %v", seed, c, err)
		}
		if c.Class == abuse.HugeBody && c.Request.Body.Len() >= 32<<20 {
			// The server reads at most the 3 MiB limit: far less than the
			// body, whatever the body's size.
			total := allocs.TotalAlloc
			runtime.ReadMemStats(&allocs)
			if grew := allocs.TotalAlloc - total; grew > 24<<20 {
				t.Errorf("seed %d, %s: allocated %d MiB for a %d MiB body", seed, c, grew>>20, c.Request.Body.Len()>>20)
			}
		}
		if err := c.Check(resp); err != nil {
			t.Errorf("seed %d, %s: %v", seed, c, err)
		}
		if _, hashAfter := st.Store().Hash(); hashAfter != hashBefore {
			t.Errorf("seed %d, %s: answered %d and changed the store", seed, c, resp.Code)
		}
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<20 {
		t.Errorf("heap grew by %d MiB over %d cases", grew>>20, n)
	}
	checkEntrySizes(t, st.Store())
	t.Logf("seed %d: %d cases in %v, heap %d → %d MiB", seed, n, took.Round(time.Millisecond), before.HeapAlloc>>20, after.HeapAlloc>>20)
	for _, cl := range g.Classes() {
		t.Logf("  %-28s %d", cl, counts[cl])
	}
}

// abuseSend sends c's request with a deadline, so a request the server
// wrongly accepts as a long watch fails the case instead of the test run.
func abuseSend(ctx context.Context, target abuse.Target, c abuse.Case) (abuse.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return target.Send(ctx, c.Request)
}

// checkEntrySizes checks that no stored value exceeds what one store
// command may carry.
func checkEntrySizes(t *testing.T, s *fsm.Store) {
	t.Helper()
	kvs, _, _ := s.List("", "", 0)
	largest := slices.MaxFunc(kvs, func(a, b fsm.KV) int { return len(a.Value) - len(b.Value) })
	if len(largest.Value) > fsm.MaxCommandSize {
		t.Errorf("%s holds %d bytes, over fsm.MaxCommandSize", largest.Key, len(largest.Value))
	}
}
