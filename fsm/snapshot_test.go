package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
)

// rawKV is one entry of a hand-crafted snapshot.
type rawKV struct {
	key, val string
	cr, mr   uint64
}

// craftSnapshot builds snapshot bytes with a correct checksum, so tests can
// reach the checks behind it. count is the declared number of entries.
func craftSnapshot(magic string, rev, count uint64, kvs []rawKV) []byte {
	b := []byte(magic)
	b = binary.AppendUvarint(b, rev)
	b = binary.AppendUvarint(b, count)
	for _, kv := range kvs {
		b = appendBytes(b, []byte(kv.key))
		b = appendBytes(b, []byte(kv.val))
		b = binary.AppendUvarint(b, kv.cr)
		b = binary.AppendUvarint(b, kv.mr)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func craft(rev uint64, kvs ...rawKV) []byte {
	return craftSnapshot(snapMagic, rev, uint64(len(kvs)), kvs)
}

// sampleStore has keys with empty, binary and overwritten values and a
// deleted key, at revision 8.
func sampleStore(t testing.TB) *Store {
	s := newTestStore(t, Options{})
	applyAll(t, s,
		createCmd("a", "1"),
		putCmd("b/empty", ""),
		Command{Op: OpPut, Key: "b/bin", Value: []byte{0, 0xff, '\n'}},
		updateCmd("a", "2", 1),
		createCmd("gone", "x"),
		deleteCmd("gone", 0),
		txnCmd(putCmd("c", "3"), updateCmd("a", "3", 4)),
		putCmd(strings.Repeat("z", MaxKeySize), "long key"),
	)
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		store func(t testing.TB) *Store
	}{
		{"empty", func(t testing.TB) *Store { return newTestStore(t, Options{}) }},
		{"advanced but empty", func(t testing.TB) *Store {
			s := newTestStore(t, Options{})
			s.Advance(42)
			return s
		}},
		{"sample", sampleStore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.store(t)
			data := snapshotBytes(t, src)
			sn, err := ReadSnapshot(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("ReadSnapshot: %v", err)
			}
			if sn.Rev() != src.Rev() || sn.Len() != src.Count("") {
				t.Fatalf("snapshot rev %d len %d, want %d and %d", sn.Rev(), sn.Len(), src.Rev(), src.Count(""))
			}
			dst := newTestStore(t, Options{})
			if err := dst.Restore(bytes.NewReader(data)); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			rev1, h1 := src.Hash()
			rev2, h2 := dst.Hash()
			if rev1 != rev2 || h1 != h2 || !kvsEqual(allKVs(src), allKVs(dst)) {
				t.Fatalf("restored rev %d %s\nwant rev %d %s", rev2, kvsString(allKVs(dst)), rev1, kvsString(allKVs(src)))
			}
			if again := snapshotBytes(t, dst); !bytes.Equal(again, data) {
				t.Fatal("snapshot of the restored store differs from the original snapshot")
			}
		})
	}
}

// TestCraftSnapshotMatchesFormat keeps craftSnapshot honest: it must produce
// what WriteTo produces.
func TestCraftSnapshotMatchesFormat(t *testing.T) {
	s := newTestStore(t, Options{})
	applyAll(t, s, putCmd("a", "1"), putCmd("b", ""), updateCmd("a", "2", 0))
	want := craft(3, rawKV{"a", "2", 1, 3}, rawKV{"b", "", 2, 2})
	if got := snapshotBytes(t, s); !bytes.Equal(got, want) {
		t.Fatalf("WriteTo = %x\ncrafted   %x", got, want)
	}
}

func TestRestoreReplacesState(t *testing.T) {
	a := newTestStore(t, Options{})
	applyAll(t, a, putCmd("w", "gone"), putCmd("y", "ya"), putCmd("z", "za"), deleteCmd("w", 0), updateCmd("y", "ya2", 2))
	b := newTestStore(t, Options{})
	applyAll(t, b, putCmd("x", "xb"), putCmd("y", "yb"), putCmd("q", "qb"), deleteCmd("q", 0),
		putCmd("p", "1"), putCmd("p", "2"), putCmd("p", "3"), deleteCmd("p", 0)) // b is ahead of a
	if err := b.Restore(bytes.NewReader(snapshotBytes(t, a))); err != nil {
		t.Fatal(err)
	}
	want := []KV{{"y", []byte("ya2"), 2, 5}, {"z", []byte("za"), 3, 3}}
	if got := allKVs(b); !kvsEqual(got, want) {
		t.Fatalf("after Restore: %s\nwant %s (a merge would keep x)", kvsString(got), kvsString(want))
	}
	if b.Rev() != a.Rev() || hashOf(a) != hashOf(b) {
		t.Fatalf("after Restore: rev %d hash %x, want rev %d hash %x", b.Rev(), hashOf(b), a.Rev(), hashOf(a))
	}
}

func TestRestoreRejectsCorruptSnapshot(t *testing.T) {
	valid := snapshotBytes(t, sampleStore(t))
	tooLongKey := strings.Repeat("k", MaxKeySize+1)
	hugeValue := append(craftSnapshot(snapMagic, 5, 1, nil)[:len(snapMagic)+2], 1, 'k')
	hugeValue = binary.AppendUvarint(hugeValue, MaxCommandSize+1)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic only", []byte(snapMagic)},
		{"wrong magic", craftSnapshot("SKIFFSX\x01", 1, 1, []rawKV{{"a", "1", 1, 1}})},
		{"wrong version", craftSnapshot("SKIFFSN\x02", 1, 1, []rawKV{{"a", "1", 1, 1}})},
		{"keys out of order", craft(5, rawKV{"b", "1", 1, 1}, rawKV{"a", "1", 2, 2})},
		{"duplicate key", craft(5, rawKV{"a", "1", 1, 1}, rawKV{"a", "2", 2, 2})},
		{"empty key", craft(5, rawKV{"", "1", 1, 1})},
		{"key too long", craft(5, rawKV{tooLongKey, "1", 1, 1})},
		{"value too long", hugeValue},
		{"create rev zero", craft(5, rawKV{"a", "1", 0, 1})},
		{"create after mod", craft(5, rawKV{"a", "1", 3, 2})},
		{"mod after snapshot", craft(5, rawKV{"a", "1", 1, 6})},
		{"count too high", craftSnapshot(snapMagic, 5, 3, []rawKV{{"a", "1", 1, 1}, {"b", "1", 2, 2}})},
		{"count too low", craftSnapshot(snapMagic, 5, 1, []rawKV{{"a", "1", 1, 1}, {"b", "1", 2, 2}})},
		{"bad checksum", func() []byte {
			b := craft(5, rawKV{"a", "1", 1, 1})
			b[len(b)-1] ^= 1
			return b
		}()},
		{"missing checksum", valid[:len(valid)-4]},
		{"junk appended", append(append([]byte{}, valid...), 0)},
		{"snapshot appended", append(append([]byte{}, valid...), valid...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectRejected(t, tc.data)
		})
	}
	t.Run("every flipped byte", func(t *testing.T) {
		for i := range valid {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte{}, valid...)
				b[i] ^= mask
				if _, err := ReadSnapshot(bytes.NewReader(b)); !errors.Is(err, ErrBadSnapshot) {
					t.Fatalf("byte %d ^ %#x: ReadSnapshot error = %v, want ErrBadSnapshot", i, mask, err)
				}
			}
		}
		b := append([]byte{}, valid...)
		b[len(b)/2] ^= 0x10
		expectRejected(t, b)
	})
	t.Run("every truncation", func(t *testing.T) {
		for n := range valid {
			if _, err := ReadSnapshot(bytes.NewReader(valid[:n])); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("%d of %d bytes: ReadSnapshot error = %v, want ErrBadSnapshot", n, len(valid), err)
			}
		}
		expectRejected(t, valid[:len(valid)/2])
	})
}

// expectRejected restores data into a populated store with an open watcher
// and requires ErrBadSnapshot and an untouched store.
func expectRejected(t *testing.T, data []byte) {
	t.Helper()
	s := newTestStore(t, Options{})
	applyAll(t, s, putCmd("keep", "1"), putCmd("keep2", "2"))
	w, err := s.Watch("", 2)
	if err != nil {
		t.Fatal(err)
	}
	rev, sum := s.Hash()
	before := allKVs(s)
	if err := s.Restore(bytes.NewReader(data)); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore error = %v, want ErrBadSnapshot", err)
	}
	if rev2, sum2 := s.Hash(); rev2 != rev || sum2 != sum || !kvsEqual(before, allKVs(s)) {
		t.Fatalf("failed Restore changed the store: rev %d -> %d, %s", rev, rev2, kvsString(allKVs(s)))
	}
	applyCmd(t, s, 3, putCmd("keep", "3"))
	if evs := pollEvents(t, w); len(evs) != 1 {
		t.Fatalf("watcher after a failed Restore: events %v", evIDs(evs))
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	s := sampleStore(t)
	wantKVs, wantRev, wantHash := allKVs(s), s.Rev(), hashOf(s)
	sn := s.Snapshot()
	// Rewrite, delete and add keys after the snapshot was taken.
	idx := s.Rev()
	for _, c := range []Command{
		updateCmd("a", "changed", 0), deleteCmd("b/empty", 0), deleteCmd("c", 0),
		createCmd("new", "n"), txnCmd(putCmd("b/bin", "x"), createCmd("gone", "back")),
	} {
		idx++
		if r := applyCmd(t, s, idx, c); r.Code != CodeOK {
			t.Fatal(r.Err())
		}
	}
	for i := range 200 { // enough writes to split and copy tree nodes
		idx++
		applyCmd(t, s, idx, putCmd(fmt.Sprintf("bulk/%03d", i), "v"))
	}
	if sn.Rev() != wantRev || sn.Len() != len(wantKVs) {
		t.Fatalf("snapshot rev %d len %d changed, want %d and %d", sn.Rev(), sn.Len(), wantRev, len(wantKVs))
	}
	var buf bytes.Buffer
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	dst := newTestStore(t, Options{})
	if err := dst.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := allKVs(dst); !kvsEqual(got, wantKVs) || dst.Rev() != wantRev || hashOf(dst) != wantHash {
		t.Fatalf("snapshot written later holds %s at rev %d\nwant %s at rev %d",
			kvsString(got), dst.Rev(), kvsString(wantKVs), wantRev)
	}
	if kv, _, _ := s.Get("a"); string(kv.Value) != "changed" {
		t.Fatalf("the store itself lost a write made after the snapshot: a = %q", kv.Value)
	}
}

// TestSnapshotList checks that a snapshot lists the state it was taken
// at, page by page, while the store moves on: what an unpaged API list
// relies on for one resourceVersion.
func TestSnapshotList(t *testing.T) {
	s := sampleStore(t)
	want, _, _ := s.List("", "", 0)
	sn := s.Snapshot()
	idx := s.Rev()
	for i := range 200 {
		idx++
		applyCmd(t, s, idx, putCmd(fmt.Sprintf("a%03d", i), "v"))
	}
	idx++
	applyCmd(t, s, idx, deleteCmd("c", 0))
	for _, tc := range []struct {
		name  string
		limit int
	}{{"whole", 0}, {"pages of 1", 1}, {"pages of 2", 2}, {"pages of 100", 100}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []KV
			after := ""
			for {
				kvs, more := sn.List("", after, tc.limit)
				got = append(got, kvs...)
				if !more {
					break
				}
				after = kvs[len(kvs)-1].Key
			}
			if !kvsEqual(got, want) {
				t.Fatalf("snapshot lists %s\nwant %s", kvsString(got), kvsString(want))
			}
		})
	}
	if kvs, _ := sn.List("b/", "", 0); len(kvs) == 0 {
		t.Fatal("prefix b/ lists nothing")
	} else {
		for _, kv := range kvs {
			if !strings.HasPrefix(kv.Key, "b/") {
				t.Fatalf("prefix b/ lists %s", kv.Key)
			}
		}
	}
}

// TestSnapshotWriteConcurrentWithApply writes a snapshot while Apply keeps
// changing the store, as Raft's Persist does; run with -race.
func TestSnapshotWriteConcurrentWithApply(t *testing.T) {
	s := sampleStore(t)
	want := snapshotBytes(t, s)
	sn := s.Snapshot()
	var wg sync.WaitGroup
	var got bytes.Buffer
	var werr error
	wg.Go(func() { _, werr = sn.WriteTo(&got) })
	idx := s.Rev()
	for i := range 300 {
		idx++
		applyCmd(t, s, idx, putCmd(fmt.Sprintf("k%03d", i%50), fmt.Sprint(i)))
		if i%7 == 0 {
			idx++
			applyCmd(t, s, idx, deleteCmd(fmt.Sprintf("k%03d", i%50), 0))
		}
	}
	wg.Wait()
	if werr != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("concurrent WriteTo: err %v, bytes equal %v", werr, bytes.Equal(got.Bytes(), want))
	}
}

func TestInstallDoesNotShareState(t *testing.T) {
	sn, err := ReadSnapshot(bytes.NewReader(snapshotBytes(t, sampleStore(t))))
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := newTestStore(t, Options{}), newTestStore(t, Options{})
	s1.Install(sn)
	s2.Install(sn)
	applyCmd(t, s1, sn.Rev()+1, putCmd("only-in-1", "v"))
	applyCmd(t, s1, sn.Rev()+2, deleteCmd("a", 0))
	if _, found, _ := s2.Get("only-in-1"); found {
		t.Fatal("a write to one installed store shows in another")
	}
	if _, found, _ := s2.Get("a"); !found || sn.Len() != s2.Count("") {
		t.Fatal("a delete in one installed store shows in another or in the snapshot")
	}
}

// failWriter fails once n bytes have been written.
type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	sn := sampleStore(t).Snapshot()
	size := len(snapshotBytes(t, sampleStore(t)))
	for _, n := range []int{0, 5, size - 4, size - 1} {
		t.Run(fmt.Sprint("fail after ", n), func(t *testing.T) {
			if _, err := sn.WriteTo(&failWriter{n: n}); !errors.Is(err, errWrite) {
				t.Fatalf("WriteTo error = %v, want the writer's error", err)
			}
		})
	}
}

func FuzzReadSnapshot(f *testing.F) {
	valid := snapshotBytes(f, sampleStore(f))
	f.Add(valid)
	f.Add(snapshotBytes(f, newTestStore(f, Options{})))
	f.Add(craft(5, rawKV{"a", "1", 1, 2}, rawKV{"b", "", 3, 5}))
	f.Add(valid[:len(valid)/2])
	f.Add(append(append([]byte{}, valid...), 0))
	flipped := append([]byte{}, valid...)
	flipped[len(flipped)/3] ^= 0x40
	f.Add(flipped)
	f.Add(craft(5, rawKV{"b", "1", 1, 1}, rawKV{"a", "1", 2, 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sn, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("ReadSnapshot error %v does not wrap ErrBadSnapshot", err)
			}
			return
		}
		s := newTestStore(t, Options{WatchLogSize: 1})
		s.Install(sn)
		var prev string
		for i, kv := range allKVs(s) {
			if kv.Key == "" || (i > 0 && kv.Key <= prev) || kv.CreateRev == 0 ||
				kv.CreateRev > kv.ModRev || kv.ModRev > sn.Rev() {
				t.Fatalf("accepted snapshot breaks an invariant at %+v", kv)
			}
			prev = kv.Key
		}
		var out bytes.Buffer
		if _, err := sn.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		s2 := newTestStore(t, Options{WatchLogSize: 1})
		if err := s2.Restore(bytes.NewReader(out.Bytes())); err != nil {
			t.Fatalf("re-reading a written snapshot: %v", err)
		}
		if hashOf(s) != hashOf(s2) || s.Rev() != s2.Rev() {
			t.Fatal("snapshot changed across a write and read")
		}
		if again := snapshotBytes(t, s2); !bytes.Equal(again, out.Bytes()) {
			t.Fatal("snapshot encoding is not a fixed point")
		}
	})
}
