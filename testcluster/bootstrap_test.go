package testcluster_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// reservePorts returns n distinct loopback ports that were free for TCP
// and UDP a moment ago. Servers are configured with them before they
// start, so that a join list can name a server that is not up yet.
func reservePorts(t *testing.T, n int) []int {
	t.Helper()
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100 {
			t.Fatal("could not reserve ports")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		// Gossip needs the same port for UDP.
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		closers = append(closers, pc)
		ports = append(ports, port)
	}
	return ports
}

// serverConfigs returns the configurations of n servers on reserved
// ports, bootstrap_expect n, sharing a token, without join lists.
func serverConfigs(t *testing.T, n int) []config.Server {
	t.Helper()
	var tok [16]byte
	rand.Read(tok[:])
	ports := reservePorts(t, 3*n)
	dir := t.TempDir()
	var cfgs []config.Server
	for i := 0; i < n; i++ {
		cfg := config.DefaultServer()
		cfg.Name = fmt.Sprintf("s%d", i+1)
		cfg.DataDir = filepath.Join(dir, cfg.Name)
		cfg.APIAddr = fmt.Sprintf("127.0.0.1:%d", ports[3*i])
		cfg.RaftAddr = fmt.Sprintf("127.0.0.1:%d", ports[3*i+1])
		cfg.GossipAddr = fmt.Sprintf("127.0.0.1:%d", ports[3*i+2])
		cfg.BootstrapExpect = n
		cfg.Token = hex.EncodeToString(tok[:])
		cfgs = append(cfgs, cfg)
	}
	return cfgs
}

// TestBootstrapInAnyOrder starts three servers with server.New in
// different orders and join lists; each time they must bootstrap exactly
// one cluster: one leader, and all three voters in every server's
// configuration.
func TestBootstrapInAnyOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []int
		// join returns server i's join list given everyone's gossip
		// addresses.
		join func(i int, addrs []string) []string
	}{
		{
			name:  "first server alone, the others join it",
			order: []int{0, 1, 2},
			join: func(i int, addrs []string) []string {
				if i == 0 {
					return nil
				}
				return addrs[:1]
			},
		},
		{
			name:  "reverse order, joining servers not yet started",
			order: []int{2, 1, 0},
			join: func(i int, addrs []string) []string {
				// Everyone lists only servers that start after it (the
				// last one started lists the first).
				if i == 0 {
					return addrs[2:]
				}
				return addrs[:i]
			},
		},
		{
			name:  "everyone lists everyone, reverse order",
			order: []int{2, 1, 0},
			join:  func(i int, addrs []string) []string { return addrs },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := serverConfigs(t, 3)
			var addrs []string
			for _, cfg := range cfgs {
				addrs = append(addrs, cfg.GossipAddr)
			}
			servers := make([]*server.Server, 3)
			started := map[string]bool{}
			for _, i := range tc.order {
				cfg := cfgs[i]
				cfg.Join = tc.join(i, addrs)
				logs := newLogCounter()
				s, err := server.New(cfg, slog.New(logs))
				if err != nil {
					t.Fatalf("start %s: %v", cfg.Name, err)
				}
				t.Cleanup(s.Kill)
				servers[i] = s
				started[cfg.GossipAddr] = true
				// A server whose seeds are all still down must have tried
				// and failed before the next one starts.
				if len(cfg.Join) > 0 && !slices.ContainsFunc(cfg.Join, func(a string) bool { return started[a] && a != cfg.GossipAddr }) {
					if err := testcluster.WaitFor(testContext(t, 10*time.Second), func() bool { return logs.count(joinFailedMsg) > 0 }); err != nil {
						t.Fatalf("%s never tried its seeds %v: %v", cfg.Name, cfg.Join, err)
					}
				}
			}
			requireOneCluster(t, servers)
		})
	}
}

// requireOneCluster waits until exactly one of servers leads, every one of
// them follows it, and every configuration holds all of them as voters.
func requireOneCluster(t *testing.T, servers []*server.Server) {
	t.Helper()
	var want []string
	for _, s := range servers {
		want = append(want, s.Name())
	}
	slices.Sort(want)
	var state string
	err := testcluster.WaitFor(testContext(t, 30*time.Second), func() bool {
		leaders := 0
		var leaderID string
		for _, s := range servers {
			if s.Replica().IsLeader() {
				leaders++
				leaderID = s.Name()
			}
		}
		if leaders != 1 {
			state = fmt.Sprintf("%d leaders", leaders)
			return false
		}
		for _, s := range servers {
			id, _ := s.Replica().Leader()
			ids, err := raftIDs(s.Replica())
			if string(id) != leaderID || err != nil || !slices.Equal(ids, want) {
				state = fmt.Sprintf("%s follows %q (leader is %s) with configuration %v %v", s.Name(), id, leaderID, ids, err)
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("no single cluster: %s: %v", state, err)
	}
}
