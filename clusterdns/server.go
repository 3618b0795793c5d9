package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultDomain is the cluster domain when none is configured.
const DefaultDomain = "cluster.local"

// Config configures a Server.
type Config struct {
	// Client is used to build informers when Informers is nil.
	Client kubernetes.Interface
	// Informers, when set, is a shared factory the caller owns; Run
	// starts it (Start is idempotent).
	Informers informers.SharedInformerFactory
	// Addr is where to listen, on UDP and TCP ("198.18.0.1:53",
	// "127.0.0.1:0" in tests).
	Addr string
	// FreeBind lets Addr be an address the host does not hold yet
	// (IP_FREEBIND on Linux): the worker listens on its pod bridge's
	// gateway, which exists only once a pod has been networked.
	FreeBind bool
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Upstreams are host:port resolvers for other names. Empty means the
	// nameservers of ResolvConf.
	Upstreams []string
	// ResolvConf is read when Upstreams is empty (default /etc/resolv.conf).
	ResolvConf string
	// TTL of cluster answers (default 5s, as CoreDNS's kubernetes plugin).
	TTL time.Duration
	// ForwardTimeout bounds one upstream exchange (default 2s).
	ForwardTimeout time.Duration
	Log            *slog.Logger
}

// Server answers DNS queries for the cluster and forwards the rest.
type Server struct {
	cfg       Config
	log       *slog.Logger
	factory   informers.SharedInformerFactory
	hasSynced []cache.InformerSynced
	res       resolver
	upstreams []string

	mu    sync.Mutex
	addrs []net.Addr // bound UDP and TCP addresses once serving
	ready chan struct{}
}

// New validates cfg, registers its informers and returns without
// starting anything.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("clusterdns: Addr is required")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("clusterdns: Addr %q: %w", cfg.Addr, err)
	}
	if cfg.Informers == nil && cfg.Client == nil {
		return nil, errors.New("clusterdns: Client or Informers is required")
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if _, ok := dns.IsDomainName(cfg.Domain); !ok {
		return nil, fmt.Errorf("clusterdns: Domain %q is not a domain name", cfg.Domain)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ups := cfg.Upstreams
	if len(ups) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("clusterdns: ResolvConf: %w", err)
		}
		for _, s := range cc.Servers {
			ups = append(ups, net.JoinHostPort(s, cc.Port))
		}
	}
	for _, u := range ups {
		if _, _, err := net.SplitHostPort(u); err != nil {
			return nil, fmt.Errorf("clusterdns: Upstreams %q: %w", u, err)
		}
	}
	f := cfg.Informers
	if f == nil {
		f = informers.NewSharedInformerFactory(cfg.Client, 0)
	}
	si := f.Core().V1().Services().Informer()
	ei := f.Discovery().V1().EndpointSlices().Informer()
	svcIdx, sliceIdx := indexers()
	if err := si.AddIndexers(svcIdx); err != nil {
		return nil, fmt.Errorf("clusterdns: service indexers: %w", err)
	}
	if err := ei.AddIndexers(sliceIdx); err != nil {
		return nil, fmt.Errorf("clusterdns: endpointslice indexers: %w", err)
	}
	s := &Server{
		cfg: cfg, log: cfg.Log.With("component", "clusterdns"), factory: f,
		hasSynced: []cache.InformerSynced{si.HasSynced, ei.HasSynced},
		res: resolver{
			src:    &informerSource{svcs: si.GetIndexer(), slices: ei.GetIndexer()},
			domain: dns.Fqdn(strings.ToLower(cfg.Domain)),
			ttl:    uint32(cfg.TTL / time.Second),
		},
		upstreams: ups,
		ready:     make(chan struct{}),
	}
	return s, nil
}

// Ready is closed once the server answers on its addresses.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the bound UDP and TCP addresses (useful with port 0).
func (s *Server) Addrs() (udp, tcp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.addrs) < 2 {
		return nil, nil
	}
	return s.addrs[0], s.addrs[1]
}

// Run waits for the informers, serves UDP and TCP until ctx is
// cancelled, and returns nil then, or the error that stopped a listener.
func (s *Server) Run(ctx context.Context) error {
	s.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), s.hasSynced...) {
		return nil
	}
	var lc net.ListenConfig
	if s.cfg.FreeBind {
		lc.Control = freeBind
	}
	pc, err := lc.ListenPacket(ctx, "udp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("clusterdns: listen udp: %w", err)
	}
	// TCP on the same port as UDP, which matters when Addr asks for :0.
	ln, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return fmt.Errorf("clusterdns: listen tcp: %w", err)
	}
	s.mu.Lock()
	s.addrs = []net.Addr{pc.LocalAddr(), ln.Addr()}
	s.mu.Unlock()
	servers := []*dns.Server{
		{PacketConn: pc, Handler: s, UDPSize: dns.DefaultMsgSize},
		{Listener: ln, Handler: s, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second},
	}
	errc := make(chan error, len(servers))
	started := make(chan struct{}, len(servers))
	for _, srv := range servers {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { errc <- srv.ActivateAndServe() }()
	}
	var runErr error
	// Wait for both listeners to serve, or for either to fail, or for the
	// end; a server that fails to start must not leave Run waiting.
	for n := 0; n < len(servers) && runErr == nil; n++ {
		select {
		case <-started:
		case runErr = <-errc:
		case <-ctx.Done():
			n = len(servers)
		}
	}
	if runErr == nil && ctx.Err() == nil {
		close(s.ready)
		s.log.Info("cluster DNS serving", "addr", pc.LocalAddr(), "domain", s.cfg.Domain, "upstreams", s.upstreams)
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
	}
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
	// Closing the sockets also ends a server that had not started when
	// Shutdown ran.
	pc.Close()
	ln.Close()
	if runErr != nil {
		return fmt.Errorf("clusterdns: serve: %w", runErr)
	}
	return nil
}
