package netproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Model is the desired (or observed) content of the proxy's table: chains
// with their rules, and sets or verdict maps with their elements. It holds
// no kernel handles; Diff compares two Models and the nft layer applies
// the difference.
type Model struct {
	Chains map[string]*Chain
	Sets   map[string]*Set
}

// NewModel returns an empty Model.
func NewModel() *Model {
	return &Model{Chains: map[string]*Chain{}, Sets: map[string]*Set{}}
}

// Hook places a base chain in netfilter.
type Hook struct {
	Type     string // "nat" or "filter"
	Hook     string // "prerouting", "input", "forward", "output", "postrouting"
	Priority int32
}

// Chain is one chain of the table. Base is nil for regular chains.
type Chain struct {
	Name  string
	Base  *Hook
	Rules []Rule
	// Observed holds the rule hashes of a chain read from the kernel,
	// whose rules are not parsed back; nil for generated chains.
	Observed []string
}

// Rule is a sequence of statements, as nft prints a rule.
type Rule []Stmt

// String renders the rule in nft's syntax.
func (r Rule) String() string {
	parts := make([]string, len(r))
	for i, s := range r {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

// Hash identifies the rule's content. The nft layer stores it as the
// rule's comment so that a restarted proxy can tell, without parsing
// expressions back, whether a chain in the kernel already holds the rules
// it wants.
func (r Rule) Hash() string {
	sum := sha256.Sum256([]byte(r.String()))
	return hex.EncodeToString(sum[:8])
}

// KeyKind is the key type of a set or map.
type KeyKind uint8

// The key kinds the proxy uses.
const (
	// KeyAddrProtoPort is ipv4_addr . inet_proto . inet_service.
	KeyAddrProtoPort KeyKind = iota + 1
	// KeyProtoPort is inet_proto . inet_service.
	KeyProtoPort
	// KeyIndex is a 32-bit integer in host byte order (numgen's output).
	KeyIndex
	// KeyAddr is ipv4_addr.
	KeyAddr
)

func (k KeyKind) String() string {
	switch k {
	case KeyAddrProtoPort:
		return "ipv4_addr . inet_proto . inet_service"
	case KeyProtoPort:
		return "inet_proto . inet_service"
	case KeyIndex:
		return "mark"
	case KeyAddr:
		return "ipv4_addr"
	}
	return fmt.Sprintf("key(%d)", uint8(k))
}

// Set is a named set (Map false) or verdict map (Map true). Dynamic sets
// are filled by the data path (sessionAffinity) and their elements are
// never managed by the proxy.
type Set struct {
	Name    string
	Key     KeyKind
	Map     bool
	Dynamic bool
	Timeout time.Duration // default element timeout of a dynamic set
	Elems   map[Key]Verdict
}

// Key is one set or map key; the fields used depend on the KeyKind.
type Key struct {
	Addr  netip.Addr
	Proto Proto
	Port  uint16
	Index uint32
}

func (k Key) format(kind KeyKind) string {
	switch kind {
	case KeyAddrProtoPort:
		return fmt.Sprintf("%s . %s . %d", k.Addr, k.Proto, k.Port)
	case KeyProtoPort:
		return fmt.Sprintf("%s . %d", k.Proto, k.Port)
	case KeyIndex:
		return fmt.Sprint(k.Index)
	case KeyAddr:
		return k.Addr.String()
	}
	return "?"
}

// VerdictKind is what a rule or map element does with a packet.
type VerdictKind uint8

// The verdicts the proxy uses.
const (
	VerdictNone VerdictKind = iota
	Jump
	Goto
	Return
	Drop
	Accept
)

// Verdict is a verdict; Chain is set for Jump and Goto.
type Verdict struct {
	Kind  VerdictKind
	Chain string
}

func (v Verdict) String() string {
	switch v.Kind {
	case Jump:
		return "jump " + v.Chain
	case Goto:
		return "goto " + v.Chain
	case Return:
		return "return"
	case Drop:
		return "drop"
	case Accept:
		return "accept"
	}
	return ""
}

// sortedKeys returns the set's keys in their rendered order.
func (s *Set) sortedKeys() []Key {
	keys := make([]Key, 0, len(s.Elems))
	for k := range s.Elems {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		if a.Proto != b.Proto {
			return int(a.Proto) - int(b.Proto)
		}
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return int(a.Index) - int(b.Index)
	})
	return keys
}

// Render prints the model in nft's list syntax, chains and sets sorted
// by name, for golden files and debugging.
func (m *Model) Render() string {
	var b strings.Builder
	b.WriteString("table ip " + TableName + " {\n")
	for _, name := range sortedNames(m.Sets) {
		s := m.Sets[name]
		kind := "set"
		typ := s.Key.String()
		if s.Map {
			kind = "map"
			typ += " : verdict"
		}
		fmt.Fprintf(&b, "\t%s %s {\n\t\ttype %s\n", kind, s.Name, typ)
		if s.Dynamic {
			fmt.Fprintf(&b, "\t\tflags dynamic,timeout\n\t\ttimeout %s\n", s.Timeout)
		}
		if len(s.Elems) > 0 {
			var el []string
			for _, k := range s.sortedKeys() {
				e := k.format(s.Key)
				if s.Map {
					e += " : " + s.Elems[k].String()
				}
				el = append(el, e)
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(el, ",\n\t\t\t     "))
		}
		b.WriteString("\t}\n")
	}
	for _, name := range sortedNames(m.Chains) {
		c := m.Chains[name]
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Base != nil {
			fmt.Fprintf(&b, "\t\ttype %s hook %s priority %d; policy accept;\n", c.Base.Type, c.Base.Hook, c.Base.Priority)
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
