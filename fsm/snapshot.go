package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/google/btree"
)

// Snapshot is a point-in-time copy of a store. Taking one is O(1) (the tree
// is copied on write); writing it out may run concurrently with Apply.
type Snapshot struct {
	tree *btree.BTreeG[*KV]
	rev  uint64
}

// Snapshot captures the current state.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Snapshot{tree: s.tree.Clone(), rev: s.rev}
}

// Rev is the revision the snapshot was taken at.
func (sn *Snapshot) Rev() uint64 { return sn.rev }

// List is Store.List over the snapshot: every key it returns is as of
// Rev, however many calls a long listing takes. A Snapshot may be read by
// several goroutines at once.
func (sn *Snapshot) List(prefix, after string, limit int) (kvs []KV, more bool) {
	return listTree(sn.tree, prefix, after, limit)
}

// Len is the number of keys in the snapshot.
func (sn *Snapshot) Len() int { return sn.tree.Len() }

// The snapshot format:
//
//	magic "SKIFFSN" version(1)
//	uvarint rev, uvarint count
//	count × (bytes key, bytes value, uvarint createRev, uvarint modRev)
//	crc32-Castagnoli of everything before, 4 bytes big-endian
//
// Keys appear in strictly ascending order.
const snapMagic = "SKIFFSN\x01"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrBadSnapshot means a snapshot stream is malformed or corrupt.
var ErrBadSnapshot = errors.New("bad snapshot")

// WriteTo writes the snapshot in Skiff's snapshot format.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(cw, crc), 64<<10)
	var b [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(b[:binary.PutUvarint(b[:], v)]) }
	bw.WriteString(snapMagic)
	uv(sn.rev)
	uv(uint64(sn.tree.Len()))
	sn.tree.Ascend(func(kv *KV) bool {
		uv(uint64(len(kv.Key)))
		bw.WriteString(kv.Key)
		uv(uint64(len(kv.Value)))
		bw.Write(kv.Value)
		uv(kv.CreateRev)
		uv(kv.ModRev)
		return cw.err == nil
	})
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	if _, err := cw.Write(sum[:]); err != nil {
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// ReadSnapshot parses and verifies a snapshot stream without touching any
// store.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	crc := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 64<<10)
	tr := io.TeeReader(br, crc)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
	}
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic) != snapMagic {
		return nil, bad("not a Skiff snapshot (wrong header)")
	}
	byteReader := &teeByteReader{r: tr}
	uv := func(what string) (uint64, error) {
		v, err := binary.ReadUvarint(byteReader)
		if err != nil {
			return 0, bad("reading %s: %v", what, err)
		}
		return v, nil
	}
	rev, err := uv("revision")
	if err != nil {
		return nil, err
	}
	count, err := uv("key count")
	if err != nil {
		return nil, err
	}
	readBytes := func(what string, max uint64) ([]byte, error) {
		n, err := uv(what + " length")
		if err != nil {
			return nil, err
		}
		if n > max {
			return nil, bad("%s length %d exceeds %d", what, n, max)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(tr, p); err != nil {
			return nil, bad("reading %s: %v", what, err)
		}
		return p, nil
	}
	tree := btree.NewG(32, lessKV)
	var prev string
	for i := uint64(0); i < count; i++ {
		key, err := readBytes("key", MaxKeySize)
		if err != nil {
			return nil, err
		}
		val, err := readBytes("value", MaxCommandSize)
		if err != nil {
			return nil, err
		}
		cr, err := uv("create revision")
		if err != nil {
			return nil, err
		}
		mr, err := uv("mod revision")
		if err != nil {
			return nil, err
		}
		k := string(key)
		switch {
		case k == "":
			return nil, bad("entry %d has an empty key", i)
		case i > 0 && k <= prev:
			return nil, bad("keys out of order at entry %d", i)
		case cr == 0 || cr > mr || mr > rev:
			return nil, bad("key %q has revisions create=%d mod=%d at snapshot revision %d", k, cr, mr, rev)
		}
		prev = k
		tree.ReplaceOrInsert(&KV{Key: k, Value: val, CreateRev: cr, ModRev: mr})
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return nil, bad("missing checksum")
	}
	if binary.BigEndian.Uint32(sum[:]) != want {
		return nil, bad("checksum mismatch")
	}
	if n, _ := br.Read(sum[:1]); n != 0 {
		return nil, bad("trailing data after checksum")
	}
	return &Snapshot{tree: tree, rev: rev}, nil
}

type teeByteReader struct{ r io.Reader }

func (t *teeByteReader) ReadByte() (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(t.r, b[:])
	return b[0], err
}

// Restore replaces the whole state with the snapshot read from r. Nothing
// of the previous state survives (it is a replacement, never a merge), open
// watches end with ErrCompacted, and the watch log starts empty at the
// snapshot's revision. On error the store is unchanged.
func (s *Store) Restore(r io.Reader) error {
	sn, err := ReadSnapshot(r)
	if err != nil {
		return err
	}
	s.Install(sn)
	return nil
}

// Install replaces the whole state with sn, like Restore.
func (s *Store) Install(sn *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree = sn.tree.Clone()
	s.rev = sn.rev
	s.gen++
	s.log.reset(sn.rev)
	s.wakeLocked()
}
