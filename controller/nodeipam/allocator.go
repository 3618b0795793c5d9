package nodeipam

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// ErrFull is returned by Allocate when every subnet is taken.
var ErrFull = errors.New("no pod CIDR left in the cluster CIDR")

// maxSubnetBits bounds the number of subnets (2^24) so the bookkeeping
// stays small; a larger split is a configuration error.
const maxSubnetBits = 24

// Allocator hands out the subnets of size MaskSize of a cluster CIDR, one
// per node name. It is not safe for concurrent use; the controller holds
// it under its own lock.
type Allocator struct {
	cluster netip.Prefix
	mask    int
	count   uint64
	used    map[uint64]string // subnet index → node
	byNode  map[string]uint64
	next    uint64 // where the next search starts, so released subnets are reused last
}

// NewAllocator returns an allocator of the /mask subnets of cluster.
func NewAllocator(cluster netip.Prefix, mask int) (*Allocator, error) {
	if !cluster.IsValid() {
		return nil, fmt.Errorf("cluster pod CIDR %v is not valid", cluster)
	}
	cluster = cluster.Masked()
	if mask <= cluster.Bits() || mask > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask /%d must be longer than the cluster pod CIDR %v and at most /%d", mask, cluster, cluster.Addr().BitLen())
	}
	if mask-cluster.Bits() > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask /%d splits %v into more than 2^%d subnets", mask, cluster, maxSubnetBits)
	}
	return &Allocator{cluster: cluster, mask: mask, count: 1 << (mask - cluster.Bits()),
		used: map[uint64]string{}, byNode: map[string]uint64{}}, nil
}

// shift is the number of host bits of a subnet in the address's own
// width.
func (a *Allocator) shift() uint { return uint(a.cluster.Addr().BitLen() - a.mask) }

// subnet returns the i-th subnet: the cluster address plus i<<shift.
func (a *Allocator) subnet(i uint64) netip.Prefix {
	hi, lo := toU128(a.cluster.Addr())
	addHi, addLo := shl128(i, a.shift())
	lo, carry := bits.Add64(lo, addLo, 0)
	hi, _ = bits.Add64(hi, addHi, carry)
	return netip.PrefixFrom(fromU128(hi, lo, a.cluster.Addr().Is4()), a.mask)
}

// index returns the subnet index of p, or an error if p is not one of the
// allocator's subnets.
func (a *Allocator) index(p netip.Prefix) (uint64, error) {
	if p.Addr().Is4() != a.cluster.Addr().Is4() || p.Bits() != a.mask || p.Masked() != p || !a.cluster.Contains(p.Addr()) {
		return 0, fmt.Errorf("%v is not a /%d subnet of %v", p, a.mask, a.cluster)
	}
	phi, plo := toU128(p.Addr())
	chi, clo := toU128(a.cluster.Addr())
	lo, borrow := bits.Sub64(plo, clo, 0)
	hi, _ := bits.Sub64(phi, chi, borrow)
	// The difference is below 2^(maxSubnetBits+shift); shifting it down
	// leaves the index.
	sh := a.shift()
	if sh >= 64 {
		return hi >> (sh - 64), nil
	}
	if sh == 0 {
		return lo, nil
	}
	return lo>>sh | hi<<(64-sh), nil
}

// toU128 returns an address as a 128-bit number; an IPv4 address is its
// 32-bit value.
func toU128(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	for k := 0; k < 8; k++ {
		hi = hi<<8 | uint64(b[k])
		lo = lo<<8 | uint64(b[8+k])
	}
	return hi, lo
}

func fromU128(hi, lo uint64, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
	}
	var b [16]byte
	for k := 0; k < 8; k++ {
		b[k] = byte(hi >> (56 - 8*k))
		b[8+k] = byte(lo >> (56 - 8*k))
	}
	return netip.AddrFrom16(b)
}

// shl128 returns i<<s as a 128-bit number.
func shl128(i uint64, s uint) (hi, lo uint64) {
	switch {
	case s >= 64:
		return i << (s - 64), 0
	case s == 0:
		return 0, i
	default:
		return i >> (64 - s), i << s
	}
}

// Occupy records that node holds p, as read from the node. It fails if p
// is not a subnet of the cluster CIDR or another node holds it.
func (a *Allocator) Occupy(node string, p netip.Prefix) error {
	i, err := a.index(p)
	if err != nil {
		return err
	}
	if owner, ok := a.used[i]; ok && owner != node {
		return fmt.Errorf("pod CIDR %v of node %s is already node %s's", p, node, owner)
	}
	if old, ok := a.byNode[node]; ok && old != i {
		delete(a.used, old)
	}
	a.used[i], a.byNode[node] = node, i
	return nil
}

// Allocate returns node's subnet, choosing a free one if it has none.
func (a *Allocator) Allocate(node string) (netip.Prefix, error) {
	if i, ok := a.byNode[node]; ok {
		return a.subnet(i), nil
	}
	for k := uint64(0); k < a.count; k++ {
		i := (a.next + k) % a.count
		if _, taken := a.used[i]; !taken {
			a.used[i], a.byNode[node] = node, i
			a.next = (i + 1) % a.count
			return a.subnet(i), nil
		}
	}
	return netip.Prefix{}, ErrFull
}

// Release frees node's subnet, if it has one.
func (a *Allocator) Release(node string) {
	if i, ok := a.byNode[node]; ok {
		delete(a.used, i)
		delete(a.byNode, node)
	}
}

// Of returns node's subnet, if it has one.
func (a *Allocator) Of(node string) (netip.Prefix, bool) {
	i, ok := a.byNode[node]
	if !ok {
		return netip.Prefix{}, false
	}
	return a.subnet(i), true
}

// Used returns the number of subnets held.
func (a *Allocator) Used() int { return len(a.used) }
