package raftstore

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// Dialer opens a Raft connection to another server. Tests replace it to
// cut links between servers; the default is plain TCP.
type Dialer func(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error)

func tcpDial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// TLS is the mutual TLS Raft runs over: Server for connections this node
// accepts, Client for those it opens.
type TLS struct {
	Server, Client *tls.Config
}

// handshakeTimeout bounds a TLS handshake, so a peer that connects and
// sends nothing (or junk) costs one goroutine for a moment only.
const handshakeTimeout = 5 * time.Second

// streamLayer is the Raft transport's connection source: a TCP listener
// and a Dialer, wrapped in TLS when configured.
type streamLayer struct {
	net.Listener
	dial Dialer
	tls  *TLS
}

func (l *streamLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.tls == nil {
		return c, err
	}
	return &handshakingConn{Conn: tls.Server(c, l.tls.Server)}, nil
}

func (l *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := l.dial(addr, timeout)
	if err != nil || l.tls == nil {
		return c, err
	}
	tc := tls.Client(c, l.tls.Client)
	tc.SetDeadline(time.Now().Add(min(timeout, handshakeTimeout)))
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// handshakingConn completes the server side of the TLS handshake, with a
// deadline, before the first read or write: a client that sends junk or
// nothing is dropped without holding up Accept.
type handshakingConn struct {
	*tls.Conn
	done bool
	err  error
}

func (c *handshakingConn) handshake() error {
	if !c.done {
		c.done = true
		c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
		c.err = c.Conn.Handshake()
		c.Conn.SetDeadline(time.Time{})
	}
	return c.err
}

func (c *handshakingConn) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *handshakingConn) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
