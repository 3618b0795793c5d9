package gossip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"server", Meta{Role: RoleServer, Name: "s1", RaftAddr: "10.0.0.1:7000", APIAddr: "https://10.0.0.1:6443", Expect: 3, HasState: true, Version: "v0.1.0"}},
		{"worker", Meta{Role: RoleWorker, Name: "w1", APIAddr: "10.0.0.9:10250"}},
		{"html characters kept raw", Meta{Role: RoleWorker, Name: "<w&1>"}},
		{"unicode", Meta{Role: RoleServer, Name: "sérveur-☃"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := encodeMeta(tc.meta)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got, err := decodeMeta(raw)
			if err != nil {
				t.Fatalf("decode %q: %v", raw, err)
			}
			if got != tc.meta {
				t.Fatalf("round trip: got %+v, want %+v", got, tc.meta)
			}
		})
	}
}

func TestEncodeMetaErrors(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
		want error
	}{
		{"too large", Meta{Role: RoleServer, Name: "s1", Version: strings.Repeat("x", MetaMaxSize)}, ErrMetaTooLarge},
		{"unknown role", Meta{Role: "janitor", Name: "s1"}, ErrInvalidMeta},
		{"no role", Meta{Name: "s1"}, ErrInvalidMeta},
		{"no name", Meta{Role: RoleServer}, ErrInvalidMeta},
		{"negative expect", Meta{Role: RoleServer, Name: "s1", Expect: -1}, ErrInvalidMeta},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := encodeMeta(tc.meta); !errors.Is(err, tc.want) {
				t.Fatalf("encode: got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeMetaRejects(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"version only", []byte{metaVersion}},
		{"unknown version", append([]byte{2}, `{"r":"server","n":"s1"}`...)},
		{"not json", append([]byte{metaVersion}, "hello"...)},
		{"trailing data", append([]byte{metaVersion}, `{"r":"server","n":"s1"} {}`...)},
		{"wrong type", append([]byte{metaVersion}, `{"r":"server","n":"s1","e":"three"}`...)},
		{"unknown role", append([]byte{metaVersion}, `{"r":"boss","n":"s1"}`...)},
		{"missing name", append([]byte{metaVersion}, `{"r":"server"}`...)},
		{"negative expect", append([]byte{metaVersion}, `{"r":"server","n":"s1","e":-3}`...)},
		{"oversized", append([]byte{metaVersion}, bytes.Repeat([]byte(" "), MetaMaxSize)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := decodeMeta(tc.raw); !errors.Is(err, ErrInvalidMeta) {
				t.Fatalf("decode %q: got %+v, %v; want ErrInvalidMeta", tc.raw, m, err)
			}
		})
	}
}

func TestDecodeMetaIgnoresUnknownKeys(t *testing.T) {
	raw := append([]byte{metaVersion}, `{"r":"worker","n":"w1","zone":"eu-1"}`...)
	got, err := decodeMeta(raw)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if want := (Meta{Role: RoleWorker, Name: "w1"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// FuzzDecodeMeta feeds decodeMeta network junk. It must never panic, and
// whatever it accepts must be valid and survive a round trip.
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []Meta{
		{Role: RoleServer, Name: "s1", RaftAddr: "127.0.0.1:7000", APIAddr: "127.0.0.1:6443", Expect: 3, HasState: true, Version: "dev"},
		{Role: RoleWorker, Name: "w1"},
	} {
		raw, err := encodeMeta(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte{metaVersion})
	f.Add([]byte{metaVersion, '{', '}'})
	f.Add(append([]byte{metaVersion}, `{"r":"server","n":"\u0000\ud800","e":1e9}`...))
	f.Add(append([]byte{metaVersion}, `{"r":"server","n":"s","e":99999999999999999999}`...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeMeta(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidMeta) {
				t.Fatalf("decode error %v does not wrap ErrInvalidMeta", err)
			}
			return
		}
		if err := m.validate(); err != nil {
			t.Fatalf("decoded invalid meta %+v: %v", m, err)
		}
		again, err := encodeMeta(m)
		if errors.Is(err, ErrMetaTooLarge) {
			return // Escaping may grow a meta that was just under the limit.
		}
		if err != nil {
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		back, err := decodeMeta(again)
		if err != nil {
			t.Fatalf("decode re-encoded %q: %v", again, err)
		}
		if back != m {
			t.Fatalf("round trip changed meta: %+v -> %+v", m, back)
		}
	})
}
