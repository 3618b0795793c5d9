package worker

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"syscall"

	"k8s.io/client-go/rest"
)

// serverSet is the list of API servers the worker's clients share, with
// the one they currently use. Its methods are safe for concurrent use.
type serverSet struct {
	mu      sync.Mutex
	servers []string // host:port
	cur     int
}

func newServerSet(servers []string) *serverSet {
	f := &serverSet{}
	f.setServers(servers)
	return f
}

// failover is an http.RoundTripper that sends each request to the current
// API server of set and, when the connection to it cannot be made, moves
// on to the next server and tries again. Only failures before the request
// left (dial errors, refused connections) are retried, so a write is never
// sent twice.
type failover struct {
	next http.RoundTripper
	set  *serverSet
}

// setServers replaces the list of servers (URLs or host:port), keeping the
// current one when it is still listed.
func (f *serverSet) setServers(servers []string) {
	var hosts []string
	for _, s := range servers {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			s = u.Host
		}
		if s != "" && !slices.Contains(hosts, s) {
			hosts = append(hosts, s)
		}
	}
	if len(hosts) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := ""
	if len(f.servers) > 0 {
		cur = f.servers[f.cur]
	}
	f.servers = hosts
	f.cur = max(0, slices.Index(hosts, cur))
}

// current returns the server requests go to.
func (f *serverSet) current() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.servers[f.cur], len(f.servers)
}

// advance moves past host, unless another request already did.
func (f *serverSet) advance(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.servers[f.cur] == host {
		f.cur = (f.cur + 1) % len(f.servers)
	}
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	host, n := f.set.current()
	var err error
	for range n {
		r := req.Clone(req.Context())
		r.URL.Host = host
		r.Host = host
		if req.GetBody != nil && req.Body != nil {
			// A body the failed attempt never sent may still have been
			// read by the transport; start from a fresh copy.
			if r.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		var resp *http.Response
		resp, err = f.next.RoundTrip(r)
		if err == nil || !unreached(err) || req.Context().Err() != nil {
			return resp, err
		}
		f.set.advance(host)
		host, _ = f.set.current()
	}
	return nil, err
}

// unreached reports whether err means the request never reached a server.
func unreached(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// restConfig returns a client-go configuration for the node credential
// whose transport fails over between the servers of set.
func restConfig(c *credentials, set *serverSet) *rest.Config {
	host, _ := set.current()
	return &rest.Config{
		Host:            "https://" + host,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(c.CA)},
		QPS:             50,
		Burst:           100,
		UserAgent:       "skiff-worker",
		WrapTransport:   func(rt http.RoundTripper) http.RoundTripper { return &failover{next: rt, set: set} },
	}
}

// all returns the servers, host:port.
func (f *serverSet) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.servers)
}
