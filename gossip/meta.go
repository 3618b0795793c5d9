package gossip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Role says what a member does in the cluster.
type Role string

const (
	// RoleServer is a control-plane server: a Raft voter and API server.
	RoleServer Role = "server"
	// RoleWorker is a node agent that runs pods.
	RoleWorker Role = "worker"
)

// MetaMaxSize is the largest encoded Meta memberlist carries.
const MetaMaxSize = memberlist.MetaMaxSize

// metaVersion is the first byte of every encoded Meta. A decoder rejects
// versions it does not know rather than guessing.
const metaVersion byte = 1

var (
	// ErrMetaTooLarge is returned when an encoded Meta exceeds MetaMaxSize.
	ErrMetaTooLarge = errors.New("gossip meta too large")
	// ErrInvalidMeta is returned when a Meta is incomplete or does not decode.
	ErrInvalidMeta = errors.New("invalid gossip meta")
)

// Meta is what a member advertises to the others.
type Meta struct {
	Role     Role
	Name     string
	RaftAddr string // Servers only: the Raft transport address.
	APIAddr  string
	Expect   int  // Servers only: their bootstrap_expect.
	HasState bool // Servers only: true once part of a Raft cluster.
	Version  string
}

// wireMeta is Meta's encoding: short JSON keys keep it well under
// MetaMaxSize. Fields are only ever added, with new keys.
type wireMeta struct {
	Role     Role   `json:"r"`
	Name     string `json:"n"`
	RaftAddr string `json:"ra,omitempty"`
	APIAddr  string `json:"aa,omitempty"`
	Expect   int    `json:"e,omitempty"`
	HasState bool   `json:"s,omitempty"`
	Version  string `json:"v,omitempty"`
}

// validate checks the rules both the encoder and the decoder enforce, so
// that whatever decodes also encodes.
func (m Meta) validate() error {
	switch {
	case m.Role != RoleServer && m.Role != RoleWorker:
		return fmt.Errorf("role %q: %w", m.Role, ErrInvalidMeta)
	case m.Name == "":
		return fmt.Errorf("empty name: %w", ErrInvalidMeta)
	case m.Expect < 0:
		return fmt.Errorf("negative expect %d: %w", m.Expect, ErrInvalidMeta)
	}
	return nil
}

// encodeMeta returns m's wire form: a version byte followed by JSON.
func encodeMeta(m Meta) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteByte(metaVersion)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wireMeta(m)); err != nil {
		return nil, fmt.Errorf("encode gossip meta: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MetaMaxSize {
		return nil, fmt.Errorf("meta of %q is %d bytes, limit %d: %w", m.Name, len(out), MetaMaxSize, ErrMetaTooLarge)
	}
	return out, nil
}

// decodeMeta parses metadata received from the network. It never panics
// and accepts only what encodeMeta could have produced, apart from unknown
// JSON keys, which newer members may add.
func decodeMeta(b []byte) (Meta, error) {
	if len(b) == 0 {
		return Meta{}, fmt.Errorf("empty: %w", ErrInvalidMeta)
	}
	if len(b) > MetaMaxSize {
		return Meta{}, fmt.Errorf("%d bytes, limit %d: %w", len(b), MetaMaxSize, ErrInvalidMeta)
	}
	if b[0] != metaVersion {
		return Meta{}, fmt.Errorf("unknown version %d: %w", b[0], ErrInvalidMeta)
	}
	var w wireMeta
	if err := json.Unmarshal(b[1:], &w); err != nil {
		return Meta{}, fmt.Errorf("%w: %w", ErrInvalidMeta, err)
	}
	m := Meta(w)
	if err := m.validate(); err != nil {
		return Meta{}, err
	}
	return m, nil
}
