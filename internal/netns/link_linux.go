package netns

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

func setLinkUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	return netlink.LinkSetUp(l)
}

// Handle returns a netlink handle that works on the namespace.
func (n *NS) Handle() (*netlink.Handle, error) {
	return netlink.NewHandleAt(vns.NsHandle(n.Fd()))
}

// Veth joins two namespaces with a veth pair: the end named aName in a
// gets aAddr, the end bName in b gets bAddr (prefixes with their
// lengths), and both go up.
func Veth(a *NS, aName string, aAddr netip.Prefix, b *NS, bName string, bAddr netip.Prefix) error {
	ha, err := a.Handle()
	if err != nil {
		return err
	}
	defer ha.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName, PeerNamespace: netlink.NsFd(b.Fd())}
	if err := ha.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s/%s: %w", aName, bName, err)
	}
	hb, err := b.Handle()
	if err != nil {
		return err
	}
	defer hb.Close()
	for _, end := range []struct {
		h    *netlink.Handle
		name string
		addr netip.Prefix
	}{{ha, aName, aAddr}, {hb, bName, bAddr}} {
		l, err := end.h.LinkByName(end.name)
		if err != nil {
			return fmt.Errorf("link %s: %w", end.name, err)
		}
		a, err := netlink.ParseAddr(end.addr.String())
		if err != nil {
			return err
		}
		if err := end.h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("address %s on %s: %w", end.addr, end.name, err)
		}
		if err := end.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("up %s: %w", end.name, err)
		}
	}
	return nil
}

// DefaultRoute sets the namespace's default route via gw.
func (n *NS) DefaultRoute(gw netip.Addr) error {
	h, err := n.Handle()
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.RouteAdd(&netlink.Route{Gw: gw.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}
