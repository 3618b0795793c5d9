package fsm

import (
	"errors"
	"reflect"
	"testing"
)

func TestApplyRevisionIsIndex(t *testing.T) {
	s := newTestStore(t, Options{})
	for _, idx := range []uint64{5, 7, 20, 1 << 40} {
		r := applyCmd(t, s, idx, putCmd("k", "v"))
		if r.Rev != idx || r.Code != CodeOK {
			t.Fatalf("Apply at %d = %+v, want Rev %d CodeOK", idx, r, idx)
		}
		if got := s.Rev(); got != idx {
			t.Fatalf("Rev() = %d, want %d", got, idx)
		}
		kv, ok, rev := s.Get("k")
		if !ok || kv.ModRev != idx || kv.CreateRev != 5 || rev != idx {
			t.Fatalf("Get = %+v found=%v rev=%d, want ModRev %d CreateRev 5 rev %d", kv, ok, rev, idx, idx)
		}
	}
}

func TestApplyConditions(t *testing.T) {
	// The base state: a = "1b" (create 1, mod 3), b = "2" (create 2, mod 2).
	setup := []Command{createCmd("a", "1"), createCmd("b", "2"), updateCmd("a", "1b", 1)}
	a := KV{"a", []byte("1b"), 1, 3}
	b := KV{"b", []byte("2"), 2, 2}
	const idx = 10
	tests := []struct {
		name       string
		cmd        Command
		want       Result
		wantErr    error
		wantState  []KV
		wantEvents []evID
	}{
		{"create new key", createCmd("c", "3"), Result{Rev: idx}, nil,
			[]KV{a, b, {"c", []byte("3"), idx, idx}}, []evID{putEv("c", idx)}},
		{"create existing key", createCmd("a", "x"),
			Result{Rev: idx, Code: CodeKeyExists, Failed: "a", CurrentRev: 3}, ErrKeyExists, []KV{a, b}, nil},
		{"update missing key", updateCmd("z", "x", 0),
			Result{Rev: idx, Code: CodeKeyNotFound, Failed: "z"}, ErrKeyNotFound, []KV{a, b}, nil},
		{"update missing key with rev", updateCmd("z", "x", 3),
			Result{Rev: idx, Code: CodeKeyNotFound, Failed: "z"}, ErrKeyNotFound, []KV{a, b}, nil},
		{"delete missing key", deleteCmd("z", 0),
			Result{Rev: idx, Code: CodeKeyNotFound, Failed: "z"}, ErrKeyNotFound, []KV{a, b}, nil},
		{"update stale rev", updateCmd("a", "x", 1),
			Result{Rev: idx, Code: CodeConflict, Failed: "a", CurrentRev: 3}, ErrConflict, []KV{a, b}, nil},
		{"update future rev", updateCmd("a", "x", 4),
			Result{Rev: idx, Code: CodeConflict, Failed: "a", CurrentRev: 3}, ErrConflict, []KV{a, b}, nil},
		{"update right rev", updateCmd("a", "x", 3), Result{Rev: idx}, nil,
			[]KV{{"a", []byte("x"), 1, idx}, b}, []evID{putEv("a", idx)}},
		{"update any rev", updateCmd("b", "y", 0), Result{Rev: idx}, nil,
			[]KV{a, {"b", []byte("y"), 2, idx}}, []evID{putEv("b", idx)}},
		{"delete stale rev", deleteCmd("b", 1),
			Result{Rev: idx, Code: CodeConflict, Failed: "b", CurrentRev: 2}, ErrConflict, []KV{a, b}, nil},
		{"delete right rev", deleteCmd("b", 2), Result{Rev: idx}, nil, []KV{a}, []evID{delEv("b", idx)}},
		{"delete any rev", deleteCmd("a", 0), Result{Rev: idx}, nil, []KV{b}, []evID{delEv("a", idx)}},
		{"put new key", putCmd("c", ""), Result{Rev: idx}, nil,
			[]KV{a, b, {"c", nil, idx, idx}}, []evID{putEv("c", idx)}},
		{"put existing key", putCmd("a", "p"), Result{Rev: idx}, nil,
			[]KV{{"a", []byte("p"), 1, idx}, b}, []evID{putEv("a", idx)}},
		{"noop", noopCmd(), Result{Rev: idx}, nil, []KV{a, b}, nil},
		{"txn all hold", txnCmd(createCmd("c", "3"), updateCmd("a", "x", 3), deleteCmd("b", 2)),
			Result{Rev: idx}, nil, []KV{{"a", []byte("x"), 1, idx}, {"c", []byte("3"), idx, idx}},
			[]evID{putEv("c", idx), putEv("a", idx), delEv("b", idx)}},
		{"txn first op fails", txnCmd(updateCmd("z", "x", 0), putCmd("c", "3")),
			Result{Rev: idx, Code: CodeKeyNotFound, Failed: "z"}, ErrKeyNotFound, []KV{a, b}, nil},
		{"txn middle op fails", txnCmd(putCmd("c", "3"), updateCmd("a", "x", 2), deleteCmd("b", 0)),
			Result{Rev: idx, Code: CodeConflict, Failed: "a", FailedIndex: 1, CurrentRev: 3}, ErrConflict, []KV{a, b}, nil},
		{"txn last op fails", txnCmd(putCmd("c", "3"), deleteCmd("a", 3), createCmd("b", "x")),
			Result{Rev: idx, Code: CodeKeyExists, Failed: "b", FailedIndex: 2, CurrentRev: 2}, ErrKeyExists, []KV{a, b}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, Options{})
			base := applyAll(t, s, setup...)
			w, err := s.Watch("", base)
			if err != nil {
				t.Fatal(err)
			}
			got := applyCmd(t, s, idx, tc.cmd)
			if got != tc.want {
				t.Fatalf("Apply = %+v, want %+v", got, tc.want)
			}
			if err := got.Err(); !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Err() = %v, want %v", err, tc.wantErr)
			}
			if s.Rev() != idx {
				t.Fatalf("Rev() = %d, want %d even when the command fails", s.Rev(), idx)
			}
			if st := allKVs(s); !kvsEqual(st, tc.wantState) {
				t.Fatalf("state = %s\nwant    %s", kvsString(st), kvsString(tc.wantState))
			}
			if evs := evIDs(pollEvents(t, w)); !reflect.DeepEqual(evs, tc.wantEvents) {
				t.Fatalf("events = %v, want %v", evs, tc.wantEvents)
			}
		})
	}
}

func TestCreateRevLifecycle(t *testing.T) {
	s := newTestStore(t, Options{})
	steps := []struct {
		cmd        Command
		wantFound  bool
		wantCreate uint64
		wantMod    uint64
	}{
		{createCmd("k", "1"), true, 1, 1},
		{updateCmd("k", "2", 1), true, 1, 2},
		{putCmd("k", "3"), true, 1, 3},
		{updateCmd("k", "4", 0), true, 1, 4},
		{deleteCmd("k", 4), false, 0, 0},
		{createCmd("k", "5"), true, 6, 6},
		{updateCmd("k", "6", 6), true, 6, 7},
		{deleteCmd("k", 0), false, 0, 0},
		{putCmd("k", "7"), true, 9, 9},
	}
	for i, st := range steps {
		idx := uint64(i + 1)
		if r := applyCmd(t, s, idx, st.cmd); r.Code != CodeOK {
			t.Fatalf("step %d (%s): %v", i, st.cmd.Op, r.Err())
		}
		kv, found, _ := s.Get("k")
		if found != st.wantFound || kv.CreateRev != st.wantCreate || kv.ModRev != st.wantMod {
			t.Fatalf("step %d (%s): Get = %+v found=%v, want create %d mod %d found=%v",
				i, st.cmd.Op, kv, found, st.wantCreate, st.wantMod, st.wantFound)
		}
	}
}

func TestListAndCount(t *testing.T) {
	s := newTestStore(t, Options{})
	keys := []string{"a", "a/1", "a/2", "a/3", "ab", "b/1", "b/2", "c"}
	var cmds []Command
	for _, k := range keys {
		cmds = append(cmds, putCmd(k, "v-"+k))
	}
	last := applyAll(t, s, cmds...)
	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
		wantMore      bool
	}{
		{"everything", "", "", 0, keys, false},
		{"prefix", "a/", "", 0, []string{"a/1", "a/2", "a/3"}, false},
		{"prefix without slash", "a", "", 0, []string{"a", "a/1", "a/2", "a/3", "ab"}, false},
		{"no match", "zz", "", 0, nil, false},
		{"limit with more", "a/", "", 2, []string{"a/1", "a/2"}, true},
		{"limit exactly all", "a/", "", 3, []string{"a/1", "a/2", "a/3"}, false},
		{"limit larger", "a/", "", 10, []string{"a/1", "a/2", "a/3"}, false},
		{"after existing key", "a/", "a/1", 0, []string{"a/2", "a/3"}, false},
		{"after missing key", "a/", "a/15", 0, []string{"a/2", "a/3"}, false},
		{"second page", "a/", "a/2", 1, []string{"a/3"}, false},
		{"after last", "a/", "a/3", 0, nil, false},
		{"after before prefix", "b/", "a", 0, []string{"b/1", "b/2"}, false},
		{"after beyond prefix", "a/", "b", 0, nil, false},
		{"after without prefix", "", "b/1", 2, []string{"b/2", "c"}, false},
		{"page of one with more", "", "", 1, []string{"a"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kvs, more, rev := s.List(tc.prefix, tc.after, tc.limit)
			var got []string
			for _, kv := range kvs {
				got = append(got, kv.Key)
				if string(kv.Value) != "v-"+kv.Key {
					t.Fatalf("value of %q = %q", kv.Key, kv.Value)
				}
			}
			if !reflect.DeepEqual(got, tc.want) || more != tc.wantMore || rev != last {
				t.Fatalf("List(%q, %q, %d) = %v more=%v rev=%d, want %v more=%v rev=%d",
					tc.prefix, tc.after, tc.limit, got, more, rev, tc.want, tc.wantMore, last)
			}
		})
	}
	counts := []struct {
		prefix string
		want   int
	}{{"", 8}, {"a", 5}, {"a/", 3}, {"b/", 2}, {"c", 1}, {"d", 0}}
	for _, tc := range counts {
		if got := s.Count(tc.prefix); got != tc.want {
			t.Errorf("Count(%q) = %d, want %d", tc.prefix, got, tc.want)
		}
	}
}

func TestAdvance(t *testing.T) {
	rec := &fatalRecorder{}
	s := New(Options{Fatal: rec.fatal})
	s.Advance(10)
	if s.Rev() != 10 {
		t.Fatalf("Rev() = %d after Advance(10)", s.Rev())
	}
	s.Advance(5) // never moves backwards
	if s.Rev() != 10 {
		t.Fatalf("Rev() = %d after Advance(5), want 10", s.Rev())
	}
	applyCmd(t, s, 10, putCmd("k", "v"))
	if len(rec.errs) != 1 {
		t.Fatalf("Apply at the advanced index: Fatal called %d times, want 1", len(rec.errs))
	}
	if r := applyCmd(t, s, 11, putCmd("k", "v")); r.Code != CodeOK || r.Rev != 11 {
		t.Fatalf("Apply at 11 = %+v", r)
	}
}

func TestApplyFatal(t *testing.T) {
	tests := []struct {
		name    string
		index   uint64
		data    []byte
		wantErr error // nil: only check that Fatal was called
	}{
		{"same index", 3, mustEncode(t, putCmd("x", "1")), nil},
		{"lower index", 1, mustEncode(t, putCmd("x", "1")), nil},
		{"unknown op", 4, []byte{1, 200, 0}, ErrUnknownOp},
		{"unknown op with body", 4, []byte{1, 200, 0, 1, 2, 3}, ErrUnknownOp},
		{"wrong version", 4, []byte{2, 4, 0, 1, 'x', 0}, ErrBadEncoding},
		{"unknown flag", 4, []byte{1, 4, 2, 1, 'x', 0}, ErrBadEncoding},
		{"truncated", 4, []byte{1, 4, 0, 1}, ErrBadEncoding},
		{"empty entry", 4, nil, ErrBadEncoding},
		{"txn with unknown sub-op", 4, []byte{1, 5, 0, 1, 200}, ErrBadEncoding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fatalRecorder{}
			s := New(Options{Fatal: rec.fatal})
			applyAll(t, s, putCmd("a", "1"), putCmd("b", "2"), putCmd("c", "3"))
			before := allKVs(s)
			s.Apply(tc.index, 1, tc.data)
			if len(rec.errs) != 1 {
				t.Fatalf("Fatal called %d times, want 1", len(rec.errs))
			}
			if tc.wantErr != nil && !errors.Is(rec.errs[0], tc.wantErr) {
				t.Fatalf("Fatal(%v), want an error wrapping %v", rec.errs[0], tc.wantErr)
			}
			if after := allKVs(s); !kvsEqual(before, after) {
				t.Fatalf("state changed by a fatal entry: %s", kvsString(after))
			}
		})
	}
}

func TestApplyDefaultFatalPanics(t *testing.T) {
	s := New(Options{})
	defer func() {
		if recover() == nil {
			t.Fatal("Apply of an unknown op did not panic with the default Fatal")
		}
	}()
	s.Apply(1, 1, []byte{1, 200, 0})
}

func TestApplyIgnorableUnknownOp(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"bare", []byte{1, 200, 1}},
		{"with body", []byte{1, 200, 1, 3, 'k', 'e', 'y'}},
		{"op zero", []byte{1, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, Options{})
			applyAll(t, s, putCmd("a", "1"))
			_, before := s.Hash()
			w, err := s.Watch("", 1)
			if err != nil {
				t.Fatal(err)
			}
			r := s.Apply(5, 1, tc.data)
			if r != (Result{Rev: 5, Code: CodeSkipped}) || r.Err() != nil {
				t.Fatalf("Apply = %+v (err %v), want Rev 5 CodeSkipped", r, r.Err())
			}
			if rev, after := s.Hash(); rev != 5 || after != before {
				t.Fatalf("Hash() rev %d changed=%v, want rev 5 unchanged", rev, after != before)
			}
			if evs := pollEvents(t, w); len(evs) != 0 {
				t.Fatalf("skipped command produced events %v", evIDs(evs))
			}
			if r := applyCmd(t, s, 6, putCmd("b", "2")); r.Code != CodeOK {
				t.Fatalf("Apply after skip: %v", r.Err())
			}
		})
	}
}

func TestHash(t *testing.T) {
	history := []Command{
		createCmd("a", "1"), putCmd("b", "2"), updateCmd("a", "3", 1),
		txnCmd(deleteCmd("b", 0), createCmd("c", "4")), createCmd("a", "dup"), // the last one fails
	}
	s1, s2 := newTestStore(t, Options{}), newTestStore(t, Options{})
	for i, c := range history {
		r1, r2 := applyCmd(t, s1, uint64(i+1), c), applyCmd(t, s2, uint64(i+1), c)
		if r1 != r2 {
			t.Fatalf("entry %d: results differ: %+v vs %+v", i, r1, r2)
		}
	}
	rev1, h1 := s1.Hash()
	rev2, h2 := s2.Hash()
	if rev1 != rev2 || h1 != h2 {
		t.Fatalf("stores fed the same entries differ: rev %d %x vs rev %d %x", rev1, h1, rev2, h2)
	}
	applyCmd(t, s2, 10, putCmd("d", ""))
	if hashOf(s2) == h1 {
		t.Fatal("Hash unchanged after a write")
	}

	// The same keys and values at different revisions hash differently:
	// both revisions count.
	s3, s4 := newTestStore(t, Options{}), newTestStore(t, Options{})
	applyCmd(t, s3, 1, putCmd("k", "v"))
	applyCmd(t, s4, 2, putCmd("k", "v"))
	if hashOf(s3) == hashOf(s4) {
		t.Fatal("Hash ignores revisions")
	}
	applyCmd(t, s3, 2, putCmd("k", "v")) // create 1, mod 2
	applyCmd(t, s4, 3, noopCmd())        // create 2, mod 2
	if hashOf(s3) == hashOf(s4) {
		t.Fatal("Hash ignores create revisions")
	}
	s7 := newTestStore(t, Options{})
	applyCmd(t, s7, 1, putCmd("k", "v"))
	applyCmd(t, s7, 3, noopCmd()) // create 1, mod 1
	applyCmd(t, s3, 3, noopCmd()) // create 1, mod 2
	if hashOf(s3) == hashOf(s7) {
		t.Fatal("Hash ignores mod revisions")
	}
	// Key and value boundaries are part of the digest.
	s5, s6 := newTestStore(t, Options{}), newTestStore(t, Options{})
	applyCmd(t, s5, 1, putCmd("ab", "c"))
	applyCmd(t, s6, 1, putCmd("a", "bc"))
	if hashOf(s5) == hashOf(s6) {
		t.Fatal("Hash confuses key/value boundaries")
	}
}

func TestApplyCopiesValues(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		key  string
		want string
	}{
		{"create", createCmd("k", "value"), "k", "value"},
		{"put", putCmd("k", "value"), "k", "value"},
		{"txn", txnCmd(putCmd("j", "other"), createCmd("k", "value")), "k", "value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, Options{})
			w, err := s.Watch("k", 0)
			if err != nil {
				t.Fatal(err)
			}
			data := mustEncode(t, tc.cmd)
			if r := s.Apply(1, 1, data); r.Code != CodeOK {
				t.Fatal(r.Err())
			}
			for i := range data {
				data[i] = 0xEE
			}
			if kv, _, _ := s.Get(tc.key); string(kv.Value) != tc.want {
				t.Fatalf("stored value = %q after the entry buffer changed, want %q", kv.Value, tc.want)
			}
			if evs := pollEvents(t, w); len(evs) != 1 || string(evs[0].Value) != tc.want {
				t.Fatalf("event value = %v after the entry buffer changed, want %q", evs, tc.want)
			}
		})
	}
}

func TestStoreApplyBatchMatchesApply(t *testing.T) {
	cmds := []Command{createCmd("a", "1"), createCmd("a", "2"), updateCmd("a", "3", 1),
		txnCmd(putCmd("b", "x"), deleteCmd("a", 0)), deleteCmd("zz", 0), noopCmd()}
	idx := []uint64{2, 3, 5, 8, 13, 21}
	var data [][]byte
	for _, c := range cmds {
		data = append(data, mustEncode(t, c))
	}
	one, batch := newTestStore(t, Options{}), newTestStore(t, Options{})
	var want []Result
	for i := range data {
		want = append(want, one.Apply(idx[i], 1, data[i]))
	}
	if got := batch.ApplyBatch(idx, []uint64{1, 1, 1, 1, 1, 1}, data); !reflect.DeepEqual(got, want) {
		t.Fatalf("ApplyBatch = %+v, want %+v", got, want)
	}
	if !kvsEqual(allKVs(one), allKVs(batch)) || one.Rev() != batch.Rev() {
		t.Fatalf("states differ: %s (rev %d) vs %s (rev %d)",
			kvsString(allKVs(one)), one.Rev(), kvsString(allKVs(batch)), batch.Rev())
	}
}

func TestResultErr(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want error // nil: Err must be nil
	}{
		{"ok", Result{Code: CodeOK}, nil},
		{"skipped", Result{Code: CodeSkipped}, nil},
		{"exists", Result{Code: CodeKeyExists, Failed: "k", CurrentRev: 3}, ErrKeyExists},
		{"not found", Result{Code: CodeKeyNotFound, Failed: "k"}, ErrKeyNotFound},
		{"conflict", Result{Code: CodeConflict, Failed: "k", CurrentRev: 3}, ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Err()
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Err() = %v, want %v", err, tc.want)
			}
		})
	}
	if err := (Result{Code: 99}).Err(); err == nil {
		t.Fatal("Err() of an unknown code is nil")
	}
}
