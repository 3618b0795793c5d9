package server

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/skiffhq/skiff/api/skiffv1"
	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/fsm"
)

// pathRegister is where a worker trades the cluster token for node
// credentials.
const pathRegister = skiffv1.RegisterPath

// handleRegister issues a node token (stored hashed) to a caller that
// presented the cluster token.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req skiffv1.RegisterRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "body must be JSON like {\"node\": \"worker-1\"}")
		return
	}
	if errs := validation.IsDNS1123Subdomain(req.Node); len(errs) > 0 {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "node: "+errs[0])
		return
	}
	st, err := s.tlsReady(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	token, rec, err := auth.NewToken(auth.RoleNode, req.Node, time.Now().UTC())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	rec.Description = "registered by node " + req.Node
	b, err := json.Marshal(rec)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if _, err := s.node.Propose(r.Context(), &fsm.Command{Op: fsm.OpCreate, Key: auth.TokenKey(rec.ID), Value: b}); err != nil {
		s.writeStoreError(w, err)
		return
	}
	var servers []string
	for _, m := range s.gossip.Servers() {
		if m.Meta.APIAddr != "" {
			servers = append(servers, "https://"+m.Meta.APIAddr)
		}
	}
	writeJSON(w, http.StatusOK, skiffv1.RegisterResponse{Token: token, CA: string(st.caPEM), Servers: servers})
}
