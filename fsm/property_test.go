package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// model is the obviously correct reference for Store: a map plus the
// revision rules of the package documentation.
type model struct {
	kvs map[string]KV
	rev uint64
}

func newModel() *model { return &model{kvs: map[string]KV{}} }

// check reports whether c's condition holds, as a Result.
func (m *model) check(c Command, idx uint64) Result {
	cur, ok := m.kvs[c.Key]
	fail := func(code Code) Result {
		return Result{Rev: idx, Code: code, Failed: c.Key, CurrentRev: cur.ModRev}
	}
	switch {
	case c.Op == OpCreate && ok:
		return fail(CodeKeyExists)
	case (c.Op == OpUpdate || c.Op == OpDelete) && !ok:
		return fail(CodeKeyNotFound)
	case (c.Op == OpUpdate || c.Op == OpDelete) && c.Rev != 0 && c.Rev != cur.ModRev:
		return fail(CodeConflict)
	}
	return Result{Rev: idx}
}

func (m *model) write(c Command, idx uint64) Event {
	prev, ok := m.kvs[c.Key]
	if c.Op == OpDelete {
		delete(m.kvs, c.Key)
		return Event{Type: EventDelete, Key: c.Key, Rev: idx, CreateRev: prev.CreateRev, PrevValue: prev.Value}
	}
	kv := KV{Key: c.Key, Value: slices.Clone(c.Value), CreateRev: idx, ModRev: idx}
	if ok {
		kv.CreateRev = prev.CreateRev
	}
	m.kvs[c.Key] = kv
	return Event{Type: EventPut, Key: c.Key, Value: kv.Value, PrevValue: prev.Value, Rev: idx, CreateRev: kv.CreateRev}
}

// apply returns the expected result and watch events of c at idx.
func (m *model) apply(c Command, idx uint64) (Result, []Event) {
	m.rev = idx
	ops := []Command{c}
	switch c.Op {
	case OpNoop:
		return Result{Rev: idx}, nil
	case OpTxn:
		ops = c.Ops
	}
	for i, op := range ops {
		if r := m.check(op, idx); r.Code != CodeOK {
			r.FailedIndex = i
			return r, nil
		}
	}
	var evs []Event
	for _, op := range ops {
		evs = append(evs, m.write(op, idx))
	}
	return Result{Rev: idx}, evs
}

func (m *model) list() []KV {
	out := make([]KV, 0, len(m.kvs))
	for _, kv := range m.kvs {
		out = append(out, kv)
	}
	slices.SortFunc(out, func(a, b KV) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}

// propKeys are the keys random commands touch; few enough that creates,
// conflicts and deletes of existing keys are all common.
var propKeys = func() []string {
	var ks []string
	for i := range 20 {
		ks = append(ks, fmt.Sprintf("%c/%02d", 'a'+i%3, i))
	}
	return ks
}()

// propLogSize keeps every event of a sequence (at most 4 per step).
const propLogSize = 4096

type cmdGen struct {
	r *rand.Rand
	m *model
}

func (g *cmdGen) key() string {
	// Prefer existing keys so that updates and deletes often succeed.
	if len(g.m.kvs) > 0 && g.r.IntN(3) > 0 {
		k := propKeys[g.r.IntN(len(propKeys))]
		if _, ok := g.m.kvs[k]; ok {
			return k
		}
	}
	return propKeys[g.r.IntN(len(propKeys))]
}

func (g *cmdGen) value() []byte {
	if g.r.IntN(8) == 0 {
		return nil
	}
	return fmt.Appendf(nil, "v%d", g.r.IntN(1000))
}

// rev returns the key's mod revision (right), another revision (wrong), or
// 0 (unconditional).
func (g *cmdGen) rev(key string) uint64 {
	cur := g.m.kvs[key].ModRev
	switch g.r.IntN(3) {
	case 0:
		if cur != 0 {
			return cur
		}
		return 1 + g.r.Uint64N(g.m.rev+1)
	case 1:
		return cur + 1 + g.r.Uint64N(3)
	}
	return 0
}

func (g *cmdGen) single(key string) Command {
	switch g.r.IntN(4) {
	case 0:
		return Command{Op: OpCreate, Key: key, Value: g.value()}
	case 1:
		return Command{Op: OpUpdate, Key: key, Value: g.value(), Rev: g.rev(key)}
	case 2:
		return Command{Op: OpDelete, Key: key, Rev: g.rev(key)}
	}
	return Command{Op: OpPut, Key: key, Value: g.value()}
}

func (g *cmdGen) command() Command {
	switch n := g.r.IntN(20); {
	case n == 0:
		return noopCmd()
	case n < 5:
		var ops []Command
		used := map[string]bool{}
		for range 1 + g.r.IntN(4) {
			k := g.key()
			if !used[k] {
				used[k] = true
				ops = append(ops, g.single(k))
			}
		}
		return txnCmd(ops...)
	}
	return g.single(g.key())
}

func eventsEqual(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Type != y.Type || x.Key != y.Key || x.Rev != y.Rev || x.CreateRev != y.CreateRev ||
			!bytes.Equal(x.Value, y.Value) || !bytes.Equal(x.PrevValue, y.PrevValue) {
			return false
		}
	}
	return true
}

// restoreInto restores a snapshot of s into a store that already holds
// unrelated keys, so a merge instead of a replacement would show.
func restoreInto(t *testing.T, s *Store, r *rand.Rand) *Store {
	t.Helper()
	snap := snapshotBytes(t, s)
	fresh := newTestStore(t, Options{WatchLogSize: propLogSize})
	if r.IntN(2) == 0 {
		applyAll(t, fresh, putCmd("zz/stale", "x"), putCmd(propKeys[0], "stale"))
	}
	if err := fresh.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	rev1, h1 := s.Hash()
	rev2, h2 := fresh.Hash()
	if rev1 != rev2 || h1 != h2 || !kvsEqual(allKVs(s), allKVs(fresh)) {
		t.Fatalf("restored store differs: rev %d vs %d\n got %s\nwant %s",
			rev2, rev1, kvsString(allKVs(fresh)), kvsString(allKVs(s)))
	}
	if rev2 > 0 {
		if _, err := fresh.Watch("", rev2-1); !errors.Is(err, ErrCompacted) {
			t.Fatalf("Watch before the snapshot revision after Restore: %v, want ErrCompacted", err)
		}
	}
	return fresh
}

// TestStoreMatchesModel applies random command sequences to a Store and to
// the model in lockstep and requires identical results, state and watch
// events after every step; at random points it moves to a store restored
// from a snapshot, which must be indistinguishable.
func TestStoreMatchesModel(t *testing.T) {
	seqs, steps := 200, 300
	if testing.Short() {
		seqs = 20
	}
	for seed := range uint64(seqs) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			m := newModel()
			g := &cmdGen{r: r, m: m}
			s := newTestStore(t, Options{WatchLogSize: propLogSize})
			prefix := []string{"", "a/", "b/"}[r.IntN(3)]
			w, err := s.Watch(prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			var idx uint64
			for step := range steps {
				if r.IntN(10) == 0 { // an entry that carries no command
					idx++
					s.Advance(idx)
					m.rev = idx
				}
				idx += 1 + r.Uint64N(2)
				c := g.command()
				wantRes, wantEvs := m.apply(c, idx)
				got := applyCmd(t, s, idx, c)
				if got != wantRes {
					t.Fatalf("step %d: %s %+v: result %+v, want %+v", step, c.Op, c, got, wantRes)
				}
				if st, want := allKVs(s), m.list(); !kvsEqual(st, want) || s.Rev() != m.rev || s.Count("") != len(want) {
					t.Fatalf("step %d: %s %+v: state at rev %d\n got %s\nwant %s (rev %d)",
						step, c.Op, c, s.Rev(), kvsString(st), kvsString(want), m.rev)
				}
				wantEvs = slices.DeleteFunc(wantEvs, func(ev Event) bool { return !strings.HasPrefix(ev.Key, prefix) })
				if evs := pollEvents(t, w); !eventsEqual(evs, wantEvs) {
					t.Fatalf("step %d: %s %+v: events\n got %+v\nwant %+v", step, c.Op, c, evs, wantEvs)
				}
				if r.IntN(50) == 0 {
					s = restoreInto(t, s, r)
					if w, err = s.Watch(prefix, s.Rev()); err != nil {
						t.Fatalf("step %d: Watch after Restore: %v", step, err)
					}
				}
			}
		})
	}
}
