package server

import (
	"context"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// membershipLoop drives cluster membership from gossip, on every gossip
// change and at least every second:
//   - before this server has Raft state, it bootstraps a new cluster once
//     bootstrap_expect servers without state are seen;
//   - as leader, it adds gossip servers missing from the Raft configuration
//     as voters (a new server, or one that was wiped);
//   - once in a cluster, it notices being removed and stops.
func (s *Server) membershipLoop(ctx context.Context) {
	// Tick fast until this server leads a cluster whose system objects
	// exist, so that it bootstraps within moments of meeting the others.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	advertised := s.node.HasState()
	var rm removal
	fast := true
	for {
		if !advertised && s.node.HasState() {
			if err := s.gossip.SetMeta(s.meta()); err == nil {
				advertised = true
			}
		}
		if !s.node.HasState() {
			s.tryBootstrap()
		} else if s.node.IsLeader() {
			s.reconcile()
		} else if s.removed(ctx, &rm) {
			s.log.Error("removed from the cluster; stopping")
			s.gossip.Leave(2 * time.Second)
			s.fail(ErrRemoved)
			return
		}
		if !s.sawSystemObjects.Load() && apiserver.SystemNamespacesExist(s.node.Store()) {
			s.sawSystemObjects.Store(true)
		}
		if fast && s.node.IsLeader() && s.sawSystemObjects.Load() {
			// As before the leadership seam: followers keep the fast
			// tick, which the removal check's timing was measured with.
			fast = false
			tick.Reset(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.gossip.Changes():
		case <-tick.C:
		}
	}
}

// tryBootstrap bootstraps Raft when this server sees bootstrap_expect
// servers, none of which is part of a cluster yet, all expecting the same
// number. Every one of them computes the same configuration (all seen
// servers), so they may bootstrap independently.
func (s *Server) tryBootstrap() {
	servers := s.gossip.Servers()
	var cfg []raftstore.Server
	for _, m := range servers {
		if m.Meta.HasState {
			// A cluster exists: its leader will add this server.
			return
		}
		if m.Meta.Expect != s.cfg.BootstrapExpect {
			s.log.Warn("not bootstrapping: servers disagree on bootstrap_expect", "peer", m.Meta.Name, "peer_expect", m.Meta.Expect, "bootstrap_expect", s.cfg.BootstrapExpect)
			return
		}
		if m.Meta.RaftAddr == "" {
			return
		}
		cfg = append(cfg, raftstore.Server{ID: raft.ServerID(m.Meta.Name), Address: raft.ServerAddress(m.Meta.RaftAddr), Voter: true})
	}
	if len(cfg) < s.cfg.BootstrapExpect {
		s.log.Debug("waiting for servers before bootstrapping", "seen", len(cfg), "bootstrap_expect", s.cfg.BootstrapExpect)
		return
	}
	s.log.Info("bootstrapping raft", "servers", len(cfg))
	if err := s.node.Bootstrap(cfg); err != nil {
		s.log.Error("bootstrap failed", "error", err)
	}
}

// reconcile adds alive gossip servers that are missing from the Raft
// configuration, or whose Raft address changed, as voters. Leader only.
//
// A missing server that advertises Raft state is never added: it was
// removed (and must be wiped to join again, see ErrRemoved) or belongs to
// another cluster. This holds on every leader: without it, a leader
// elected right after its predecessor removed itself re-adds the old
// leader, whose Raft has shut down, before that server has left gossip.
func (s *Server) reconcile() {
	current, err := s.node.Servers()
	if err != nil {
		return
	}
	for _, m := range s.gossip.Servers() {
		if m.Meta.RaftAddr == "" {
			continue
		}
		i := slices.IndexFunc(current, func(c raftstore.Server) bool { return string(c.ID) == m.Meta.Name })
		if i >= 0 && string(current[i].Address) == m.Meta.RaftAddr && current[i].Voter {
			continue
		}
		if i < 0 && m.Meta.HasState {
			s.log.Debug("not adding a server that has raft state from elsewhere", "id", m.Meta.Name)
			s.hintRemoved(m.Meta.Name)
			continue
		}
		s.log.Info("adding server to raft", "id", m.Meta.Name, "address", m.Meta.RaftAddr)
		if err := s.node.AddVoter(raft.ServerID(m.Meta.Name), raft.ServerAddress(m.Meta.RaftAddr)); err != nil {
			s.log.Warn("add server failed", "id", m.Meta.Name, "error", err)
		}
	}
}
