package raftstore

import (
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

// streamLayer is the Raft transport's connection source: a TCP listener
// and a Dialer.
type streamLayer struct {
	net.Listener
	dial Dialer
}

func (l *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return l.dial(addr, timeout)
}
