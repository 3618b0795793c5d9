package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// Operator endpoints.
const (
	opRaft         = "/skiff/v1/operator/raft"
	opRaftRemove   = "/skiff/v1/operator/raft/remove"
	opRaftTransfer = "/skiff/v1/operator/raft/transfer-leadership"
	opSnapshot     = "/skiff/v1/operator/snapshot"
)

// RaftServer is one entry of GET /skiff/v1/operator/raft. Address is the
// server's Raft address; APIAddress is its HTTPS API's listen address
// (host:port) as it announces it in gossip, empty while gossip does not
// know the server.
type RaftServer struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	APIAddress string `json:"api_address,omitempty"`
	Voter      bool   `json:"voter"`
	Leader     bool   `json:"leader"`
	LastIndex  uint64 `json:"last_index"`
	Reachable  bool   `json:"reachable"`
	// TokenFingerprint and AcceptedFingerprints are the fingerprints of the
	// cluster token the server uses and of those it also accepts, as it
	// reports them; empty when it is not reachable.
	TokenFingerprint     string   `json:"token_fingerprint,omitempty"`
	AcceptedFingerprints []string `json:"accepted_fingerprints,omitempty"`
}

// RaftServers is the body of GET /skiff/v1/operator/raft.
type RaftServers struct {
	Servers []RaftServer `json:"servers"`
	// Term is the Raft term as the answering server knows it.
	Term uint64 `json:"term"`
}

// handleRaftServers lists the Raft configuration with each server's last
// log index, asked of every server in parallel.
func (s *Server) handleRaftServers(w http.ResponseWriter, r *http.Request) {
	servers, err := s.node.Servers()
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	leader, _ := s.node.Leader()
	out := RaftServers{Servers: make([]RaftServer, len(servers)), Term: s.node.Raft().CurrentTerm()}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, srv := range servers {
		out.Servers[i] = RaftServer{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Voter, Leader: srv.ID == leader}
		// A server gossip does not know yet is listed without its API address.
		out.Servers[i].APIAddress, _ = s.fwd.apiAddr(srv.ID)
		wg.Add(1)
		go func(rs *RaftServer, id raft.ServerID) {
			defer wg.Done()
			st, err := s.peerStatus(ctx, id)
			if err == nil {
				rs.LastIndex, rs.Reachable = st.LastIndex, true
				rs.TokenFingerprint, rs.AcceptedFingerprints = st.Token, st.Accepted
			}
		}(&out.Servers[i], srv.ID)
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) peerStatus(ctx context.Context, id raft.ServerID) (nodeStatus, error) {
	if string(id) == s.cfg.Name {
		return s.localStatus(), nil
	}
	resp, err := s.fwd.do(ctx, id, http.MethodGet, pathStatus, nil)
	if err != nil {
		return nodeStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeStatus{}, remoteError(resp)
	}
	var st nodeStatus
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

type idRequest struct {
	ID string `json:"id"`
}

func decodeID(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	var req idRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "body must be JSON like {\"id\": \"s2\"}: "+err.Error())
		return "", false
	}
	if required && req.ID == "" {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "id is required")
		return "", false
	}
	return req.ID, true
}

// handleRaftRemove removes a server from the Raft configuration. A removed
// server stops by itself; no leader re-adds a server that has Raft state
// (see reconcile).
func (s *Server) handleRaftRemove(w http.ResponseWriter, r *http.Request) {
	if !s.node.IsLeader() {
		s.proxyToLeader(w, r)
		return
	}
	id, ok := decodeID(w, r, true)
	if !ok {
		return
	}
	if err := s.node.RemoveServer(raft.ServerID(id)); err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.log.Info("removed server", "id", id)
	writeJSON(w, http.StatusOK, map[string]string{"removed": id})
}

func (s *Server) handleRaftTransfer(w http.ResponseWriter, r *http.Request) {
	if !s.node.IsLeader() {
		s.proxyToLeader(w, r)
		return
	}
	id, ok := decodeID(w, r, false)
	if !ok {
		return
	}
	if err := s.node.TransferLeadership(raft.ServerID(id)); err != nil {
		s.writeStoreError(w, err)
		return
	}
	// The transfer completes when the target has won its election; this
	// server learns the new leader from its first heartbeat.
	var leader raft.ServerID
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(2 * time.Second)
	for leader == "" || leader == raft.ServerID(s.cfg.Name) {
		select {
		case <-t.C:
			leader, _ = s.node.Leader()
		case <-deadline:
			writeStatus(w, http.StatusGatewayTimeout, reasonTimeout, "leadership was handed over but no new leader is known yet")
			return
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"leader": string(leader)})
}

// handleSnapshotSave streams a linearizable snapshot of the store: it
// reflects every write acknowledged before the request.
func (s *Server) handleSnapshotSave(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.node.Linearize(ctx); err != nil {
		s.writeStoreError(w, err)
		return
	}
	sn := s.node.Store().Snapshot()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Skiff-Revision", strconv.FormatUint(sn.Rev(), 10))
	w.Header().Set("X-Skiff-Keys", strconv.Itoa(sn.Len()))
	if _, err := sn.WriteTo(w); err != nil {
		s.log.Warn("snapshot download interrupted", "error", err)
	}
}

// maxSnapshotUpload bounds a restore upload.
const maxSnapshotUpload = 8 << 30

// handleSnapshotRestore replaces the whole cluster's state with an
// uploaded snapshot: the leader validates it completely, then installs it
// through Raft, which makes every follower install it too.
func (s *Server) handleSnapshotRestore(w http.ResponseWriter, r *http.Request) {
	if !s.node.IsLeader() {
		s.proxyToLeader(w, r)
		return
	}
	sn, err := fsm.ReadSnapshot(http.MaxBytesReader(w, r.Body, maxSnapshotUpload))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeStatus(w, http.StatusRequestEntityTooLarge, reasonRequestTooLarge, err.Error())
			return
		}
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, err.Error())
		return
	}
	rev, err := s.restore(r.Context(), sn)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	s.log.Info("restored snapshot", "snapshot_revision", sn.Rev(), "keys", sn.Len(), "revision", rev)
	writeJSON(w, http.StatusOK, map[string]uint64{"revision": rev})
}

// restore installs sn through Raft and returns the revision the store is
// at afterwards, which is above every revision of the state it replaced.
func (s *Server) restore(ctx context.Context, sn *fsm.Snapshot) (uint64, error) {
	sn, err := keepClusterCA(sn, s.node.Store())
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.cfg.DataDir, "restore-*.snap")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := sn.WriteTo(f)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: sn.Rev(), Size: size}
	if err := s.node.Raft().Restore(meta, f, 5*time.Minute); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return 0, fmt.Errorf("restore: %w", raftstore.ErrNotLeader)
		}
		return 0, fmt.Errorf("restore: %w", err)
	}
	// Move the revision to the restore's log index so that it never goes
	// backwards for a client of the replaced state.
	res, err := s.node.Propose(ctx, &fsm.Command{Op: fsm.OpNoop})
	if err != nil {
		return 0, err
	}
	return res.Rev, nil
}

// keepClusterCA returns sn with the cluster CA of cur in place of the
// snapshot's own. The CA is this cluster's identity, not restorable state:
// the running servers' certificates and every kubeconfig chain to it. A
// snapshot from another cluster carries that cluster's CA, which a server
// restarting from the installed snapshot would load before catching up,
// leaving it unable to talk to its peers. The CA key's revision becomes
// the snapshot's revision plus one.
func keepClusterCA(sn *fsm.Snapshot, cur *fsm.Store) (*fsm.Snapshot, error) {
	ca, ok, _ := cur.Get(caKey)
	if !ok {
		return sn, nil
	}
	st := fsm.New(fsm.Options{WatchLogSize: 1})
	st.Install(sn)
	if have, found, _ := st.Get(caKey); found && bytes.Equal(have.Value, ca.Value) {
		return sn, nil // a snapshot of this cluster
	}
	data, err := fsm.Encode(&fsm.Command{Op: fsm.OpPut, Key: caKey, Value: ca.Value})
	if err != nil {
		return nil, err
	}
	st.Apply(sn.Rev()+1, 0, data) // not fenced: the term is unused
	return st.Snapshot(), nil
}

// leaderWait bounds how long an operator request waits for a leader to be
// elected before it is refused; an election takes well under a second.
const leaderWait = 5 * time.Second

// proxyToLeader passes an operator request on to the leader's API and
// streams the answer back. During an election it waits for the new leader,
// as writes do, rather than failing a request that moments later would
// succeed.
func (s *Server) proxyToLeader(w http.ResponseWriter, r *http.Request) {
	leader, err := s.awaitLeader(r.Context())
	if err != nil {
		writeStatus(w, http.StatusServiceUnavailable, reasonUnavailable, err.Error())
		return
	}
	addr, err := s.fwd.apiAddr(leader)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	client, err := s.fwd.httpClient(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "https://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	req.ContentLength = r.ContentLength
	req.Header = r.Header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		writeStatus(w, http.StatusBadGateway, reasonUnavailable, fmt.Sprintf("forward to leader %s: %v", leader, err))
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// awaitLeader returns the leader's ID once this server knows one, waiting
// up to leaderWait.
func (s *Server) awaitLeader(ctx context.Context) (raft.ServerID, error) {
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for logged := false; ; logged = true {
		if leader, _ := s.node.Leader(); leader != "" {
			return leader, nil
		}
		if !logged {
			s.log.Info("operator request waiting for a raft leader")
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no raft leader after %v", leaderWait)
		case <-t.C:
		}
	}
}
