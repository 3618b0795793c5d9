package testcluster_test

import (
	"context"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// TestRaftPortRefusesStrangers sends junk and a plaintext Raft RPC to the
// leader's Raft port: neither gets an answer, and the cluster keeps
// committing writes.
func TestRaftPortRefusesStrangers(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr := c.Server(leader).RaftAddr()

	for i := 0; i < 20; i++ {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 4096)
		rand.Read(junk)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write(junk)
		// The server answers junk with at most a TLS alert and a close.
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		if n > 7 {
			t.Fatalf("raft port answered %d bytes of junk", n)
		}
		conn.Close()
	}

	// A plaintext Raft client (what a server without TLS would be) gets no
	// vote, no append, nothing.
	trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer trans.Close()
	var resp raft.RequestVoteResponse
	err = trans.RequestVote("intruder", raft.ServerAddress(addr), &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("intruder"), Addr: []byte(trans.LocalAddr())}, Term: 1 << 40, LastLogIndex: 1 << 40, LastLogTerm: 1 << 40,
	}, &resp)
	if err == nil {
		t.Fatalf("plaintext RequestVote answered: %+v", resp)
	}

	res, err := c.Server((leader+1)%3).Replica().Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: "/after-junk", Value: []byte("x")})
	if err != nil || res.Err() != nil {
		t.Fatalf("write after junk: %v %v", err, res.Err())
	}
	if l2, err := c.Leader(ctx); err != nil || l2 != leader {
		t.Fatalf("leader changed from %d to %d (%v): strangers disturbed the cluster", leader, l2, err)
	}
}
