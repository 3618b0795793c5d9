package netproxy

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Registers: 1 and 2 are the 16-byte registers, 8.. the 4-byte ones a
// concatenated key is built in.
const (
	reg1      = 1
	reg2      = 2
	reg32base = 8
	rtnLocal  = 2 // RTN_LOCAL, fib's "type local"
)

func payload(base expr.PayloadBase, off, n, reg uint32) *expr.Payload {
	return &expr.Payload{OperationType: expr.PayloadLoad, DestRegister: reg, Base: base, Offset: off, Len: n}
}

func addrOffset(f Field) uint32 {
	if f == Saddr {
		return 12
	}
	return 16
}

func loadAddr(f Field, reg uint32) *expr.Payload {
	return payload(expr.PayloadBaseNetworkHeader, addrOffset(f), 4, reg)
}

func loadDport(reg uint32) *expr.Payload {
	return payload(expr.PayloadBaseTransportHeader, 2, 2, reg)
}

func native32(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }

// compile turns a rule into nftables expressions.
func compile(r Rule) ([]expr.Any, error) {
	var out []expr.Any
	for _, s := range r {
		e, err := compileStmt(s)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r, err)
		}
		out = append(out, e...)
	}
	return out, nil
}

func compileStmt(s Stmt) ([]expr.Any, error) {
	switch s := s.(type) {
	case MatchPrefix:
		if !s.Prefix.Addr().Is4() {
			return nil, fmt.Errorf("prefix %s is not IPv4", s.Prefix)
		}
		op := expr.CmpOpEq
		if s.Not {
			op = expr.CmpOpNeq
		}
		p := s.Prefix.Masked()
		out := []expr.Any{loadAddr(s.Field, reg1)}
		if p.Bits() < 32 {
			mask := net.CIDRMask(p.Bits(), 32)
			out = append(out, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
		}
		a := p.Addr().As4()
		return append(out, &expr.Cmp{Op: op, Register: reg1, Data: a[:]}), nil
	case MatchInSet:
		return []expr.Any{loadAddr(s.Field, reg1), &expr.Lookup{SourceRegister: reg1, SetName: s.Set}}, nil
	case MatchLocal:
		return []expr.Any{
			&expr.Fib{Register: reg1, ResultADDRTYPE: true, FlagSADDR: s.Field == Saddr, FlagDADDR: s.Field == Daddr},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: native32(rtnLocal)},
		}, nil
	case MatchProto:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{byte(s.Proto)}},
		}, nil
	case MatchNew:
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: native32(expr.CtStateBitNEW), Xor: native32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: native32(0)},
		}, nil
	case MatchMarkClear:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: native32(s.Bits), Xor: native32(0)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: native32(0)},
		}, nil
	case SetMark:
		mask, xor := ^s.Bits, s.Bits // x | b == (x & ^b) ^ b
		if s.Xor {
			mask = 0xffffffff
		}
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: native32(mask), Xor: native32(xor)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1},
		}, nil
	case Masquerade:
		return []expr.Any{&expr.Masq{FullyRandom: true}}, nil
	case DNAT:
		if !s.Addr.Is4() {
			return nil, fmt.Errorf("dnat address %s is not IPv4", s.Addr)
		}
		a := s.Addr.As4()
		port := make([]byte, 2)
		binary.BigEndian.PutUint16(port, s.Port)
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{byte(s.Proto)}},
			&expr.Immediate{Register: reg1, Data: a[:]},
			&expr.Immediate{Register: reg2, Data: port},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg2, Specified: true},
		}, nil
	case Vmap:
		var out []expr.Any
		src := uint32(reg32base)
		switch s.Key {
		case ByDestination:
			out = []expr.Any{loadAddr(Daddr, reg32base), &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32base + 1}, loadDport(reg32base + 2)}
		case ByProtoPort:
			out = []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32base}, loadDport(reg32base + 1)}
		case ByRandom:
			src = reg1
			out = []expr.Any{&expr.Numgen{Register: reg1, Modulus: s.Mod, Type: unix.NFT_NG_RANDOM}}
		default:
			return nil, fmt.Errorf("unknown vmap key %d", s.Key)
		}
		return append(out, &expr.Lookup{SourceRegister: src, IsDestRegSet: true, DestRegister: 0, SetName: s.Map}), nil
	case UpdateSet:
		return []expr.Any{loadAddr(Saddr, reg1), &expr.Dynset{SrcRegKey: reg1, SetName: s.Set, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: s.Timeout}}, nil
	case Reject:
		if s.TCPReset {
			return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
		}
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}}, nil
	case Do:
		return []expr.Any{verdictExpr(s.Verdict)}, nil
	}
	return nil, fmt.Errorf("unknown statement %T", s)
}

func verdictExpr(v Verdict) *expr.Verdict {
	switch v.Kind {
	case Jump:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain}
	case Goto:
		return &expr.Verdict{Kind: expr.VerdictGoto, Chain: v.Chain}
	case Return:
		return &expr.Verdict{Kind: expr.VerdictReturn}
	case Drop:
		return &expr.Verdict{Kind: expr.VerdictDrop}
	}
	return &expr.Verdict{Kind: expr.VerdictAccept}
}

func verdictFromExpr(v *expr.Verdict) Verdict {
	switch v.Kind {
	case expr.VerdictJump:
		return Verdict{Kind: Jump, Chain: v.Chain}
	case expr.VerdictGoto:
		return Verdict{Kind: Goto, Chain: v.Chain}
	case expr.VerdictReturn:
		return Verdict{Kind: Return}
	case expr.VerdictDrop:
		return Verdict{Kind: Drop}
	}
	return Verdict{Kind: Accept}
}

func keyType(k KeyKind) nftables.SetDatatype {
	switch k {
	case KeyAddrProtoPort:
		return nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	case KeyProtoPort:
		return nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	case KeyIndex:
		// mark is nft's 32-bit host-order integer, which is what numgen
		// writes to its register.
		return nftables.TypeMark
	}
	return nftables.TypeIPAddr
}

// kindOf recognises a set read from the kernel by its name, which the
// generator gives by role (the kernel reports concatenated key types in a
// form the library does not map back).
func kindOf(name string) KeyKind {
	switch {
	case name == mapServiceIPs || name == mapNoEndpointSvcs:
		return KeyAddrProtoPort
	case name == mapNodePorts || name == mapNoEndpointNodePts:
		return KeyProtoPort
	case strings.HasPrefix(name, "ep-"):
		return KeyAddr
	}
	return KeyIndex
}

// encodeKey lays a key out as the kernel stores it: each field of a
// concatenation padded to 4 bytes, ports big-endian, numgen's index in
// host order.
func encodeKey(kind KeyKind, k Key) []byte {
	switch kind {
	case KeyAddrProtoPort:
		a := k.Addr.As4()
		return []byte{a[0], a[1], a[2], a[3], byte(k.Proto), 0, 0, 0, byte(k.Port >> 8), byte(k.Port), 0, 0}
	case KeyProtoPort:
		return []byte{byte(k.Proto), 0, 0, 0, byte(k.Port >> 8), byte(k.Port), 0, 0}
	case KeyIndex:
		return native32(k.Index)
	}
	a := k.Addr.As4()
	return a[:]
}

func decodeKey(kind KeyKind, b []byte) (Key, error) {
	want := map[KeyKind]int{KeyAddrProtoPort: 12, KeyProtoPort: 8, KeyIndex: 4, KeyAddr: 4}[kind]
	if len(b) < want {
		return Key{}, fmt.Errorf("set key of %d bytes, want %d", len(b), want)
	}
	switch kind {
	case KeyAddrProtoPort:
		return Key{Addr: netip.AddrFrom4([4]byte(b[:4])), Proto: Proto(b[4]), Port: binary.BigEndian.Uint16(b[8:10])}, nil
	case KeyProtoPort:
		return Key{Proto: Proto(b[0]), Port: binary.BigEndian.Uint16(b[4:6])}, nil
	case KeyIndex:
		return Key{Index: binaryutil.NativeEndian.Uint32(b[:4])}, nil
	}
	return Key{Addr: netip.AddrFrom4([4]byte(b[:4]))}, nil
}
