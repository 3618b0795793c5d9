package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm/raftstore"
)

// pathMembership lets a server ask the leader whether it is still in the
// Raft configuration.
const pathMembership = "/skiff/v1/internal/membership"

// A follower that has heard no leader for leaderlessAsk asks the others,
// at most once per askEvery.
const (
	leaderlessAsk = 3 * time.Second
	askEvery      = 2 * time.Second
)

// hintEvery bounds how often a leader tells one removed server to check.
const hintEvery = 2 * time.Second

// removal tracks what a server knows about its own membership.
type removal struct {
	// member turns true once this server has seen itself in the Raft
	// configuration; a server catching up as a new member may replay older
	// configurations without itself, which must not count as a removal.
	member          bool
	leaderlessSince time.Time
	lastAsked       time.Time
}

// removed reports whether this server has been removed from the cluster.
// Usually the server learns it from its own log: the configuration entry
// without it. But the leader stops replicating to a removed server as soon
// as it appends that entry, and the entry may never arrive (the follower
// was behind, or needed a snapshot); the server then only stops hearing
// from any leader, or, while the leader's replication to it winds down,
// only heartbeats without entries. So a server that has been leaderless
// for a while, or that a leader has told to check (hintRemoved), asks the
// others, and believes a leader that has just confirmed its leadership
// with a quorum and does not list it.
func (s *Server) removed(ctx context.Context, st *removal) bool {
	if s.node.Raft().State() == raft.Shutdown {
		return s.ctx.Err() == nil
	}
	servers, err := s.node.Servers()
	if err != nil || len(servers) == 0 {
		return false
	}
	in := slices.ContainsFunc(servers, func(c raftstore.Server) bool { return string(c.ID) == s.cfg.Name })
	if in {
		st.member = true
	}
	if !st.member {
		return false
	}
	if !in {
		return true
	}
	now := time.Now()
	hinted := s.membershipHint.Swap(false)
	if leader, _ := s.node.Leader(); leader != "" {
		st.leaderlessSince = time.Time{}
	} else if st.leaderlessSince.IsZero() {
		st.leaderlessSince = now
	}
	leaderless := !st.leaderlessSince.IsZero() && now.Sub(st.leaderlessSince) >= leaderlessAsk
	if !(hinted || leaderless) || now.Sub(st.lastAsked) < askEvery {
		return false
	}
	st.lastAsked = now
	return s.leaderSaysRemoved(ctx)
}

// leaderSaysRemoved asks every other server gossip knows; only the leader
// answers, after confirming its leadership.
func (s *Server) leaderSaysRemoved(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, m := range s.gossip.Servers() {
		if m.Meta.Name == s.cfg.Name {
			continue
		}
		resp, err := s.fwd.do(ctx, raft.ServerID(m.Meta.Name), http.MethodGet, pathMembership+"?id="+url.QueryEscape(s.cfg.Name), nil)
		if err != nil {
			continue
		}
		var body struct {
			Member bool `json:"member"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		ok := resp.StatusCode == http.StatusOK
		resp.Body.Close()
		if ok && err == nil {
			if !body.Member {
				s.log.Warn("the leader's configuration no longer lists this server", "leader", m.Meta.Name)
			}
			return !body.Member
		}
	}
	return false
}

// handleMembership answers whether the server named by ?id is in the Raft
// configuration. Only a leader that has just confirmed its leadership with
// a quorum answers; any other server says it is not the leader.
func (s *Server) handleMembership(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "id is required")
		return
	}
	if _, err := s.node.LeaderReadIndex(r.Context()); err != nil {
		s.writeStoreError(w, err)
		return
	}
	servers, err := s.node.Servers()
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	member := slices.ContainsFunc(servers, func(c raftstore.Server) bool { return string(c.ID) == id })
	writeJSON(w, http.StatusOK, struct {
		Member bool `json:"member"`
	}{member})
}

// hintRemoved tells a server that gossip shows alive, with Raft state, but
// that is not in the configuration, to check its membership: it may have
// been removed without learning it. The hint only makes the server ask
// (removed); what it believes is the verified leader's answer, so a hint
// from a deposed leader does no harm. Called from the membership loop
// only; best effort, in the background.
func (s *Server) hintRemoved(name string) {
	if s.hinted == nil {
		s.hinted = map[string]time.Time{}
	}
	if time.Since(s.hinted[name]) < hintEvery {
		return
	}
	s.hinted[name] = time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
		defer cancel()
		if resp, err := s.fwd.do(ctx, raft.ServerID(name), http.MethodPost, pathMembership, nil); err == nil {
			resp.Body.Close()
		}
	}()
}

// handleMembershipHint records a leader's hint to check membership.
func (s *Server) handleMembershipHint(w http.ResponseWriter, _ *http.Request) {
	s.membershipHint.Store(true)
	w.WriteHeader(http.StatusAccepted)
}
