package netproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Config configures a Proxier.
type Config struct {
	// Client is used to build informers when Informers is nil.
	Client kubernetes.Interface
	// Informers, when set, is a shared factory the caller owns; Run
	// starts it (Start is idempotent).
	Informers informers.SharedInformerFactory
	// NodeName is this node: endpoints on it are local.
	NodeName string
	// NodeIPs are this node's addresses (logged; NodePorts match every
	// local address through fib).
	NodeIPs []netip.Addr
	// PodCIDR is the cluster's pod CIDR; ClusterIP traffic from outside
	// it is masqueraded. Invalid means masquerade all ClusterIP traffic.
	PodCIDR netip.Prefix
	// NetNS is the path of the network namespace to program ("" = the
	// process's own), e.g. /run/netns/node1 in tests.
	NetNS string
	// KeepTable leaves the table in place when Run returns, so a
	// restarted proxy takes over without a gap.
	KeepTable bool
	// RetryInterval is the wait after a failed sync (default 1s).
	RetryInterval time.Duration
	Log           *slog.Logger
}

// Proxier keeps the node's nftables table in line with Services and
// EndpointSlices.
type Proxier struct {
	cfg       Config
	log       *slog.Logger
	factory   informers.SharedInformerFactory
	svcs      corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	hasSynced []cache.InformerSynced
	kick      chan struct{}
	gen       *Generator // owned by the Run loop

	mu    sync.Mutex
	stats Stats // of the last sync, for tests and benchmarks
	syncs int
}

// New registers its informers with the factory (or a new one over
// cfg.Client) and returns without starting anything.
func New(cfg Config) (*Proxier, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("netproxy: NodeName is required")
	}
	if cfg.Informers == nil && cfg.Client == nil {
		return nil, errors.New("netproxy: Client or Informers is required")
	}
	if cfg.PodCIDR.IsValid() && !cfg.PodCIDR.Addr().Is4() {
		return nil, fmt.Errorf("netproxy: PodCIDR %s is not IPv4", cfg.PodCIDR)
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
	p := &Proxier{cfg: cfg, log: cfg.Log.With("component", "netproxy"), factory: f, kick: make(chan struct{}, 1),
		gen: NewGenerator(NodeInfo{PodCIDR: cfg.PodCIDR})}
	si := f.Core().V1().Services()
	ei := f.Discovery().V1().EndpointSlices()
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.trigger() },
		UpdateFunc: func(any, any) { p.trigger() },
		DeleteFunc: func(any) { p.trigger() },
	}
	for _, inf := range []cache.SharedIndexInformer{si.Informer(), ei.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("netproxy: add handler: %w", err)
		}
		p.hasSynced = append(p.hasSynced, inf.HasSynced)
	}
	p.svcs, p.slices = si.Lister(), ei.Lister()
	return p, nil
}

// trigger asks for a sync; many events before the loop runs make one.
func (p *Proxier) trigger() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// LastStats returns what the last successful sync sent and how many
// syncs succeeded.
func (p *Proxier) LastStats() (Stats, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats, p.syncs
}

// Run programs the table until ctx is cancelled, then removes it unless
// KeepTable is set. It first reads what a previous run left and applies
// only the difference, so a restart keeps the table (and conntrack, which
// it never flushes) and established connections survive.
func (p *Proxier) Run(ctx context.Context) error {
	p.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), p.hasSynced...) {
		return nil
	}
	fd := -1
	if p.cfg.NetNS != "" {
		f, err := os.Open(p.cfg.NetNS)
		if err != nil {
			return fmt.Errorf("netproxy: open netns: %w", err)
		}
		defer f.Close()
		fd = int(f.Fd())
	}
	tb, err := openTable(fd)
	if err != nil {
		return fmt.Errorf("netproxy: %w", err)
	}
	defer tb.close()
	p.log.Info("proxy starting", "node", p.cfg.NodeName, "nodeIPs", p.cfg.NodeIPs, "podCIDR", p.cfg.PodCIDR)

	var have *Model // nil: read the kernel before the next sync
	exists := false
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.cfg.KeepTable {
				return nil
			}
			if err := tb.remove(); err != nil {
				return fmt.Errorf("netproxy: %w", err)
			}
			p.log.Info("proxy stopped, table removed")
			return nil
		case <-p.kick:
		case <-retry.C:
		}
		if have == nil {
			if have, exists, err = tb.read(); err != nil {
				p.log.Warn("read table", "err", err)
				have = nil
				retry.Reset(p.cfg.RetryInterval)
				continue
			}
		}
		want, err := p.desired()
		if err != nil {
			p.log.Warn("list services", "err", err)
			retry.Reset(p.cfg.RetryInterval)
			continue
		}
		start := time.Now()
		plan := Diff(have, want)
		if plan.Empty() && exists {
			p.mu.Lock()
			p.syncs++
			p.mu.Unlock()
			continue
		}
		st, err := tb.apply(plan, want, !exists)
		if err != nil {
			// The kernel may hold part of the plan: re-read it next time.
			p.log.Warn("sync failed", "err", err, "sent", st.Messages)
			have = nil
			retry.Reset(p.cfg.RetryInterval)
			continue
		}
		have, exists = want, true
		p.mu.Lock()
		p.stats, p.syncs = st, p.syncs+1
		p.mu.Unlock()
		p.log.Debug("synced", "took", time.Since(start), "messages", st.Messages, "rules", st.Rules, "elements", st.Elements)
	}
}

func (p *Proxier) desired() (*Model, error) {
	svcs, err := p.svcs.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	sl, err := p.slices.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return p.gen.Generate(Translate(svcs, sl, p.cfg.NodeName)), nil
}
