package nodeipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestNewAllocatorErrors(t *testing.T) {
	tests := []struct {
		cluster string
		mask    int
		want    string
	}{
		{"10.244.0.0/16", 16, "must be longer"},
		{"10.244.0.0/16", 33, "at most /32"},
		{"10.0.0.0/8", 33, "at most /32"},
		{"10.0.0.0/4", 30, "more than 2^24"},
		{"fd00::/48", 64, ""},
	}
	for _, tt := range tests {
		_, err := NewAllocator(netip.MustParsePrefix(tt.cluster), tt.mask)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s /%d: err %v, want %q", tt.cluster, tt.mask, err, tt.want)
		}
	}
}

// TestAllocator runs a script of operations against one allocator.
func TestAllocator(t *testing.T) {
	type op struct {
		do, node, cidr string // do: alloc, occupy, release
		want           string // the CIDR for alloc, or an error substring
	}
	tests := []struct {
		name    string
		cluster string
		mask    int
		ops     []op
	}{
		{name: "sequential, released subnets reused last", cluster: "10.244.0.0/16", mask: 24, ops: []op{
			{do: "alloc", node: "n1", want: "10.244.0.0/24"},
			{do: "alloc", node: "n2", want: "10.244.1.0/24"},
			{do: "alloc", node: "n1", want: "10.244.0.0/24"},
			{do: "release", node: "n1"},
			{do: "alloc", node: "n3", want: "10.244.2.0/24"},
		}},
		{name: "occupied subnets are skipped", cluster: "10.244.0.0/16", mask: 24, ops: []op{
			{do: "occupy", node: "old", cidr: "10.244.0.0/24"},
			{do: "occupy", node: "old2", cidr: "10.244.1.0/24"},
			{do: "alloc", node: "n1", want: "10.244.2.0/24"},
			{do: "occupy", node: "dup", cidr: "10.244.1.0/24", want: "already node old2's"},
			{do: "occupy", node: "bad", cidr: "10.244.1.128/25", want: "not a /24 subnet"},
			{do: "occupy", node: "bad", cidr: "10.245.0.0/24", want: "not a /24 subnet"},
			{do: "occupy", node: "bad", cidr: "10.244.3.1/24", want: "not a /24 subnet"},
			{do: "occupy", node: "bad", cidr: "fd00::/24", want: "not a /24 subnet"},
		}},
		{name: "full", cluster: "10.0.0.0/30", mask: 31, ops: []op{
			{do: "alloc", node: "a", want: "10.0.0.0/31"},
			{do: "alloc", node: "b", want: "10.0.0.2/31"},
			{do: "alloc", node: "c", want: "no pod CIDR left"},
			{do: "release", node: "a"},
			{do: "alloc", node: "c", want: "10.0.0.0/31"},
		}},
		{name: "IPv6", cluster: "fd00:10::/48", mask: 64, ops: []op{
			{do: "occupy", node: "a", cidr: "fd00:10:0:ffff::/64"},
			{do: "alloc", node: "b", want: "fd00:10::/64"},
			{do: "alloc", node: "c", want: "fd00:10:0:1::/64"},
		}},
		{name: "IPv6 subnets above 64 bits", cluster: "fd00::/32", mask: 48, ops: []op{
			{do: "alloc", node: "a", want: "fd00::/48"},
			{do: "alloc", node: "b", want: "fd00:0:1::/48"},
			{do: "occupy", node: "c", cidr: "fd00:0:ff::/48"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAllocator(netip.MustParsePrefix(tt.cluster), tt.mask)
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range tt.ops {
				var got string
				switch o.do {
				case "alloc":
					p, err := a.Allocate(o.node)
					got = p.String()
					if err != nil {
						got = err.Error()
					}
					if errors.Is(err, ErrFull) != strings.Contains(o.want, "left") {
						t.Errorf("op %d: ErrFull mismatch: %v", i, err)
					}
				case "occupy":
					if err := a.Occupy(o.node, netip.MustParsePrefix(o.cidr)); err != nil {
						got = err.Error()
					}
				case "release":
					a.Release(o.node)
				}
				if (o.want == "" && got != "") || !strings.Contains(got, o.want) {
					t.Errorf("op %d %s %s: got %q, want %q", i, o.do, o.node, got, o.want)
				}
			}
		})
	}
}

// TestAllocatorIndexRoundTrip checks subnet and index are inverse over
// the whole range of a small split and at the edges of large ones.
func TestAllocatorIndexRoundTrip(t *testing.T) {
	for _, c := range []struct {
		cluster string
		mask    int
	}{{"10.244.0.0/16", 24}, {"10.0.0.0/8", 30}, {"fd00::/40", 64}, {"fd00::/100", 124}, {"fd00::/56", 80}} {
		a, err := NewAllocator(netip.MustParsePrefix(c.cluster), c.mask)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []uint64{0, 1, 2, 255, 256, a.count / 2, a.count - 2, a.count - 1} {
			if i >= a.count {
				continue
			}
			p := a.subnet(i)
			got, err := a.index(p)
			if err != nil || got != i {
				t.Errorf("%s/%d: index(subnet(%d)=%v) = %d, %v", c.cluster, c.mask, i, p, got, err)
			}
			if !a.cluster.Contains(p.Addr()) {
				t.Errorf("%v outside %v", p, a.cluster)
			}
		}
	}
}
