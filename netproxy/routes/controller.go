package routes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Protocol marks the routes this package owns (rtm_protocol); any other
// route is left alone.
const Protocol netlink.RouteProtocol = 207

// EgressTable is the nftables table (family ip) of the masquerade rule.
const EgressTable = "skiff-egress"

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory // optional; Run starts it
	NodeName  string
	// ClusterCIDR is the cluster pod CIDR; pod traffic to outside it is
	// masqueraded. Invalid disables the rule.
	ClusterCIDR netip.Prefix
	// NetNS is the network namespace to configure ("" = own).
	NetNS string
	// Keep leaves routes and the egress table in place when Run returns.
	Keep          bool
	RetryInterval time.Duration
	Log           *slog.Logger
}

// Controller keeps the node's pod routes and egress masquerade current.
type Controller struct {
	cfg     Config
	log     *slog.Logger
	factory informers.SharedInformerFactory
	nodes   corelisters.NodeLister
	synced  cache.InformerSynced
	kick    chan struct{}

	mu     sync.Mutex
	routes []Route // installed by the last sync
}

// New registers a Node informer and returns without starting anything.
func New(cfg Config) (*Controller, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("routes: NodeName is required")
	}
	if cfg.Client == nil && cfg.Informers == nil {
		return nil, errors.New("routes: Client or Informers is required")
	}
	if cfg.ClusterCIDR.IsValid() && !cfg.ClusterCIDR.Addr().Is4() {
		return nil, fmt.Errorf("routes: ClusterCIDR %s is not IPv4", cfg.ClusterCIDR)
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	f := cfg.Informers
	if f == nil {
		f = informers.NewSharedInformerFactory(cfg.Client, 0)
	}
	c := &Controller{cfg: cfg, log: cfg.Log.With("component", "routes"), factory: f, kick: make(chan struct{}, 1)}
	ni := f.Core().V1().Nodes()
	kick := func() {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	if _, err := ni.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { kick() }, UpdateFunc: func(any, any) { kick() }, DeleteFunc: func(any) { kick() },
	}); err != nil {
		return nil, fmt.Errorf("routes: add handler: %w", err)
	}
	c.nodes, c.synced = ni.Lister(), ni.Informer().HasSynced
	return c, nil
}

// Routes returns the routes the last sync installed.
func (c *Controller) Routes() []Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Route(nil), c.routes...)
}

// Run installs the egress rule, then keeps routes current until ctx is
// cancelled; then it removes both unless Keep is set.
func (c *Controller) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil
	}
	h, nsFD, closeNS, err := c.open()
	if err != nil {
		return err
	}
	defer closeNS()
	defer h.Close()
	if c.cfg.ClusterCIDR.IsValid() {
		if err := egress(nsFD, c.cfg.ClusterCIDR, true); err != nil {
			return err
		}
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			if c.cfg.Keep {
				return nil
			}
			err := c.sync(h, nil)
			if c.cfg.ClusterCIDR.IsValid() {
				err = errors.Join(err, egress(nsFD, c.cfg.ClusterCIDR, false))
			}
			return err
		case <-c.kick:
		case <-retry.C:
		}
		nodes, err := c.nodes.List(labels.Everything())
		if err == nil {
			err = c.sync(h, Desired(nodes, c.cfg.NodeName))
		}
		if err != nil {
			c.log.Warn("sync routes", "err", err)
			retry.Reset(c.cfg.RetryInterval)
		}
	}
}

func (c *Controller) open() (*netlink.Handle, int, func(), error) {
	if c.cfg.NetNS == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, 0, nil, fmt.Errorf("routes: netlink: %w", err)
		}
		return h, -1, func() {}, nil
	}
	f, err := os.Open(c.cfg.NetNS)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("routes: open NetNS: %w", err)
	}
	h, err := netlink.NewHandleAt(vns.NsHandle(f.Fd()))
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("routes: netlink in NetNS: %w", err)
	}
	return h, int(f.Fd()), func() { f.Close() }, nil
}

// sync makes the kernel's routes of Protocol equal want.
func (c *Controller) sync(h *netlink.Handle, want []Route) error {
	have, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: Protocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	wanted := map[netip.Prefix]netip.Addr{}
	for _, r := range want {
		wanted[r.Dst] = r.Gw
	}
	var errs error
	for _, r := range have {
		dst, ok := prefixOf(r.Dst)
		gw, _ := netip.AddrFromSlice(r.Gw)
		if ok && wanted[dst] == gw.Unmap() {
			delete(wanted, dst)
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = errors.Join(errs, fmt.Errorf("delete route %v: %w", r.Dst, err))
		}
	}
	for _, r := range want {
		if _, todo := wanted[r.Dst]; !todo {
			continue
		}
		nr := &netlink.Route{Dst: &net.IPNet{IP: r.Dst.Addr().AsSlice(), Mask: net.CIDRMask(r.Dst.Bits(), 32)},
			Gw: r.Gw.AsSlice(), Protocol: Protocol}
		if err := h.RouteReplace(nr); err != nil {
			errs = errors.Join(errs, fmt.Errorf("route %s via %s (node %s): %w", r.Dst, r.Gw, r.Node, err))
		}
	}
	if errs == nil {
		c.mu.Lock()
		c.routes = want
		c.mu.Unlock()
		c.log.Debug("routes synced", "routes", len(want))
	}
	return errs
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), ok
}

// egress installs (or, with install false, removes) the table whose
// postrouting chain masquerades pod traffic leaving cidr. Installing
// flushes and refills the table in one transaction, so it is idempotent.
func egress(nsFD int, cidr netip.Prefix, install bool) error {
	var opts []nftables.ConnOption
	if nsFD >= 0 {
		opts = append(opts, nftables.WithNetNSFd(nsFD))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	t := &nftables.Table{Name: EgressTable, Family: nftables.TableFamilyIPv4}
	if !install {
		conn.DelTable(t)
		if err := conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("egress: delete table: %w", err)
		}
		return nil
	}
	conn.AddTable(t)
	conn.FlushTable(t)
	ch := conn.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	p := cidr.Masked()
	a := p.Addr().As4()
	mask := net.CIDRMask(p.Bits(), 32)
	match := func(off uint32, op expr.CmpOp) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: op, Register: 1, Data: a[:]},
		}
	}
	ex := append(match(12, expr.CmpOpEq), match(16, expr.CmpOpNeq)...) // ip saddr cidr ip daddr != cidr
	conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(ex, &expr.Masq{})})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("egress: program table %s: %w", EgressTable, err)
	}
	return nil
}
