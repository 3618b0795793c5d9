package netproxy

import (
	"fmt"
	"net/netip"
	"time"
)

// Proto is an IP protocol number the proxy forwards.
type Proto uint8

// The protocols a Service port may use.
const (
	TCP  Proto = 6
	UDP  Proto = 17
	SCTP Proto = 132
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return fmt.Sprint(uint8(p))
}

// Stmt is one statement of a rule: a match, an action or a verdict. Each
// type renders itself in nft's syntax; the nft layer compiles it to
// expressions.
type Stmt interface {
	String() string
}

// Field names the part of a packet a match reads.
type Field uint8

// The fields matches read.
const (
	Saddr Field = iota + 1
	Daddr
)

func (f Field) String() string {
	if f == Saddr {
		return "saddr"
	}
	return "daddr"
}

// MatchPrefix matches when the address field is (or, with Not, is not)
// inside Prefix.
type MatchPrefix struct {
	Field  Field
	Not    bool
	Prefix netip.Prefix
}

func (m MatchPrefix) String() string {
	op := ""
	if m.Not {
		op = "!= "
	}
	v := m.Prefix.String()
	if m.Prefix.IsSingleIP() {
		v = m.Prefix.Addr().String()
	}
	return fmt.Sprintf("ip %s %s%s", m.Field, op, v)
}

// MatchInSet matches when the address field is an element of Set.
type MatchInSet struct {
	Field Field
	Set   string
}

func (m MatchInSet) String() string { return fmt.Sprintf("ip %s @%s", m.Field, m.Set) }

// MatchLocal matches when the address field is one of this host's
// addresses (fib ... type local).
type MatchLocal struct{ Field Field }

func (m MatchLocal) String() string { return fmt.Sprintf("fib %s type local", m.Field) }

// MatchProto matches the layer-4 protocol.
type MatchProto struct{ Proto Proto }

func (m MatchProto) String() string { return "meta l4proto " + m.Proto.String() }

// MatchNew matches the first packet of a connection.
type MatchNew struct{}

func (MatchNew) String() string { return "ct state new" }

// MatchMarkClear matches when none of Bits is set in the packet mark.
type MatchMarkClear struct{ Bits uint32 }

func (m MatchMarkClear) String() string {
	return fmt.Sprintf("meta mark & 0x%08x == 0x00000000", m.Bits)
}

// SetMark ORs (Xor false) or XORs Bits into the packet mark.
type SetMark struct {
	Bits uint32
	Xor  bool
}

func (s SetMark) String() string {
	op := "|"
	if s.Xor {
		op = "^"
	}
	return fmt.Sprintf("meta mark set meta mark %s 0x%08x", op, s.Bits)
}

// Masquerade rewrites the source to the outgoing interface's address.
type Masquerade struct{}

func (Masquerade) String() string { return "masquerade fully-random" }

// DNAT rewrites the destination to Addr:Port.
type DNAT struct {
	Proto Proto
	Addr  netip.Addr
	Port  uint16
}

func (d DNAT) String() string {
	return fmt.Sprintf("meta l4proto %s dnat to %s:%d", d.Proto, d.Addr, d.Port)
}

// VmapKey is what a verdict-map lookup is keyed by.
type VmapKey uint8

// The keys of the verdict maps.
const (
	// ByDestination is ip daddr . meta l4proto . th dport.
	ByDestination VmapKey = iota + 1
	// ByProtoPort is meta l4proto . th dport.
	ByProtoPort
	// ByRandom is numgen random mod Mod.
	ByRandom
)

// Vmap looks the key up in Map and applies the verdict found; no match
// continues with the next rule.
type Vmap struct {
	Key VmapKey
	Mod uint32 // for ByRandom
	Map string
}

func (v Vmap) String() string {
	var k string
	switch v.Key {
	case ByDestination:
		k = "ip daddr . meta l4proto . th dport"
	case ByProtoPort:
		k = "meta l4proto . th dport"
	case ByRandom:
		k = fmt.Sprintf("numgen random mod %d", v.Mod)
	}
	return fmt.Sprintf("%s vmap @%s", k, v.Map)
}

// UpdateSet adds the packet's source address to a dynamic set, or
// refreshes its timeout.
type UpdateSet struct {
	Set     string
	Timeout time.Duration
}

func (u UpdateSet) String() string {
	return fmt.Sprintf("update @%s { ip saddr timeout %s }", u.Set, u.Timeout)
}

// Reject refuses the packet: with a TCP reset when TCPReset, otherwise
// with ICMP port unreachable.
type Reject struct{ TCPReset bool }

func (r Reject) String() string {
	if r.TCPReset {
		return "reject with tcp reset"
	}
	return "reject with icmp port-unreachable"
}

// Do is a rule's final verdict.
type Do struct{ Verdict Verdict }

func (d Do) String() string { return d.Verdict.String() }
