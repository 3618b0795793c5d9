package raftstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// entryData is the size of a 256-byte put as an encoded command.
var entryData = []byte(strings.Repeat("x", 291))

// appendEntries stores n entries from index first on, in batches of batch.
func appendEntries(tb testing.TB, s *raftboltdb.BoltStore, first uint64, n, batch int) {
	tb.Helper()
	for done := 0; done < n; done += batch {
		logs := make([]*raft.Log, min(batch, n-done))
		for i := range logs {
			logs[i] = &raft.Log{Index: first + uint64(done+i), Term: 1, Type: raft.LogCommand, Data: entryData, AppendedAt: time.Now()}
		}
		if err := s.StoreLogs(logs); err != nil {
			tb.Fatal(err)
		}
	}
}

// requireLog checks that s holds exactly the entries [first, last].
func requireLog(t *testing.T, s *raftboltdb.BoltStore, first, last uint64) {
	t.Helper()
	fi, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	li, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if fi != first || li != last {
		t.Fatalf("log holds [%d, %d], want [%d, %d]", fi, li, first, last)
	}
	for _, idx := range []uint64{first, (first + last) / 2, last} {
		var l raft.Log
		if err := s.GetLog(idx, &l); err != nil || l.Index != idx || !slices.Equal(l.Data, entryData) {
			t.Fatalf("entry %d: %v, index %d, %d bytes", idx, err, l.Index, len(l.Data))
		}
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestLogStoreFreelist checks what not writing bbolt's freelist relies on:
// a raft.db whose log was compacted reopens with every kept entry and with
// its free pages found again, so that new entries reuse them instead of
// growing the file; and files written with bbolt's default settings and
// with ours open with either.
func TestLogStoreFreelist(t *testing.T) {
	for _, tc := range []struct {
		name         string
		create, then *bbolt.Options
	}{
		{"ours", logStoreOptions(), logStoreOptions()},
		{"bbolt defaults then ours", nil, logStoreOptions()},
		{"ours then bbolt defaults", logStoreOptions(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), logFile)
			s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: tc.create})
			if err != nil {
				t.Fatal(err)
			}
			appendEntries(t, s, 1, 12000, 64)
			if err := s.DeleteRange(1, 9000); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			high := fileSize(t, path)

			s, err = raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: tc.then})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			requireLog(t, s, 9001, 12000)
			// The first write transaction reports the freelist bbolt found.
			appendEntries(t, s, 12001, 1, 1)
			if free := s.Stats().FreePageN; free < 1000 {
				t.Fatalf("reopened file has %d free pages, want the compacted entries' pages (over 1,000)", free)
			}
			appendEntries(t, s, 12002, 5999, 64)
			requireLog(t, s, 9001, 18000)
			if after := fileSize(t, path); after > high {
				t.Errorf("raft.db grew from %d to %d bytes while it had free pages for the new entries", high, after)
			}
		})
	}
}

// TestOpenLogStoreInUse checks that a raft.db another store holds open is
// refused with an error saying so, rather than waited for.
func TestOpenLogStoreInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), logFile)
	s, err := openLogStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := openLogStore(path); err == nil || !strings.Contains(err.Error(), "is the server still running?") {
		t.Fatalf("second open: %v, want an error naming a running server", err)
	}
}

// BenchmarkLogStoreCommit measures one raft.db commit of 8 entries (291
// bytes each, a 256-byte put) after a compaction has left the file
// mostly free, with bbolt's default settings and with Skiff's
// (logStoreOptions), how long the compaction (one DeleteRange, during
// which no entry can be written) and reopening the file take. "entries" is
// the log the file held before the compaction kept the last 10,240: 100k
// is about 20k free pages, 1M about 200k. It writes up to 900 MB of
// files; run it with -benchtime=1x.
func BenchmarkLogStoreCommit(b *testing.B) {
	const commits, batch = 2000, 8
	for _, entries := range []int{0, 100000, 1000000} {
		for _, opts := range []struct {
			name string
			o    *bbolt.Options
		}{{"bbolt-defaults", nil}, {"skiff", logStoreOptions()}} {
			b.Run(fmt.Sprintf("entries=%d/options=%s", entries, opts.name), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), logFile)
				s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: opts.o})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { s.Close() }()
				next := uint64(1)
				var compact time.Duration
				if entries > 0 {
					appendEntries(b, s, 1, entries, 64)
					next += uint64(entries)
					t := time.Now()
					if err := s.DeleteRange(1, next-10241); err != nil {
						b.Fatal(err)
					}
					compact = time.Since(t)
				}
				b.ResetTimer()
				lat := make([]time.Duration, commits)
				for i := range lat {
					t := time.Now()
					appendEntries(b, s, next, batch, batch)
					lat[i] = time.Since(t)
					next += batch
				}
				b.StopTimer()
				st := s.Stats()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				s, err = raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: opts.o})
				if err != nil {
					b.Fatal(err)
				}
				reopen := time.Since(t)
				slices.Sort(lat)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
				b.ReportMetric(ms(reopen), "reopen-ms")
				b.ReportMetric(ms(compact), "compact-ms")
				b.Logf("entries=%d options=%s free_pages=%d freelist=%dB file=%dMiB commit p50=%.2fms p99=%.2fms reopen=%.1fms compact=%.0fms",
					entries, opts.name, st.FreePageN+st.PendingPageN, st.FreelistInuse, fileSize(b, path)>>20, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(reopen), ms(compact))
			})
		}
	}
}
