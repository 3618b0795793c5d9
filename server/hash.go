package server

import (
	"encoding/hex"
	"net/http"
)

// opHash is the operator endpoint that reports this server's store digest.
const opHash = "/skiff/v1/operator/hash"

// StoreHash is the body of GET /skiff/v1/operator/hash: this server's
// replica, at the revision it has applied. Replicas that report the same
// revision must report the same hash; a difference means they diverged.
// Like etcd's hashkv, it is answered from the local replica without a
// leader check, so that a lagging or partitioned replica can be compared.
type StoreHash struct {
	ID       string `json:"id"`
	Revision uint64 `json:"revision"`
	Hash     string `json:"hash"`
}

func (s *Server) handleHash(w http.ResponseWriter, _ *http.Request) {
	rev, sum := s.node.Store().Hash()
	writeJSON(w, http.StatusOK, StoreHash{ID: s.cfg.Name, Revision: rev, Hash: hex.EncodeToString(sum[:])})
}
