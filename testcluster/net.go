package testcluster

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// errCut is what a dial across a cut link returns.
var errCut = errors.New("testcluster: link cut")

// faultNet decides which Raft links work. A link is directed (dialer →
// target address); Partition cuts both directions. Cutting a link also
// closes the connections already open over it.
type faultNet struct {
	mu    sync.Mutex
	cut   map[link]bool
	conns map[link]map[net.Conn]struct{}
}

type link struct {
	from int
	to   raft.ServerAddress
}

func newFaultNet() *faultNet {
	return &faultNet{cut: map[link]bool{}, conns: map[link]map[net.Conn]struct{}{}}
}

// dialer returns the Raft dialer of the server with index from.
func (f *faultNet) dialer(from int) func(raft.ServerAddress, time.Duration) (net.Conn, error) {
	return func(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
		l := link{from, addr}
		f.mu.Lock()
		blocked := f.cut[l]
		f.mu.Unlock()
		if blocked {
			return nil, errCut
		}
		c, err := net.DialTimeout("tcp", string(addr), timeout)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.cut[l] {
			c.Close()
			return nil, errCut
		}
		if f.conns[l] == nil {
			f.conns[l] = map[net.Conn]struct{}{}
		}
		tc := &trackedConn{Conn: c, f: f, l: l}
		f.conns[l][tc] = struct{}{}
		return tc, nil
	}
}

func (f *faultNet) setCut(l link, cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !cut {
		delete(f.cut, l)
		return
	}
	f.cut[l] = true
	for c := range f.conns[l] {
		c.(*trackedConn).Conn.Close()
	}
	delete(f.conns, l)
}

func (f *faultNet) healAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
}

type trackedConn struct {
	net.Conn
	f    *faultNet
	l    link
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		delete(c.f.conns[c.l], c)
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}
