package server

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/fsm"
)

// Token operator endpoints.
const (
	opTokens = "/skiff/v1/operator/tokens"
	// opToken is followed by a token's id.
	opToken = "/skiff/v1/operator/tokens/"
)

// TokenRequest is the body of POST /skiff/v1/operator/tokens.
type TokenRequest struct {
	Role        auth.Role `json:"role"`
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
}

// TokenInfo describes an issued token; Token is set only in the answer to
// its creation, the one time the secret is shown.
type TokenInfo struct {
	ID          string    `json:"id"`
	Role        auth.Role `json:"role"`
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Token       string    `json:"token,omitempty"`
}

func infoOf(rec auth.TokenRecord) TokenInfo {
	return TokenInfo{ID: rec.ID, Role: rec.Role, Node: rec.Node, Description: rec.Description, Created: rec.Created}
}

// handleTokenCreate issues a token. The store keeps only its hash, so the
// answer is the only place the token ever appears.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, `body must be JSON like {"role": "read-only"}`)
		return
	}
	if !slices.Contains([]auth.Role{auth.RoleAdmin, auth.RoleReadOnly, auth.RoleNode}, req.Role) {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, `role must be admin, read-only or node`)
		return
	}
	token, rec, err := auth.NewToken(req.Role, req.Node, time.Now().UTC())
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, err.Error())
		return
	}
	rec.Description = req.Description
	b, err := json.Marshal(rec)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	res, err := s.node.Propose(r.Context(), &fsm.Command{Op: fsm.OpCreate, Key: auth.TokenKey(rec.ID), Value: b})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	info := infoOf(rec)
	info.Token = token
	writeJSON(w, http.StatusCreated, info)
}

// handleTokenList lists issued tokens (never their secrets or hashes).
func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Linearize(r.Context()); err != nil {
		s.writeStoreError(w, err)
		return
	}
	kvs, _, _ := s.node.Store().List(auth.TokenKey(""), "", 0)
	out := struct {
		Tokens []TokenInfo `json:"tokens"`
	}{Tokens: []TokenInfo{}}
	for _, kv := range kvs {
		var rec auth.TokenRecord
		if json.Unmarshal(kv.Value, &rec) == nil {
			out.Tokens = append(out.Tokens, infoOf(rec))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleTokenRevoke deletes a token's record. Every server authenticates
// against its own replica, so the token stops working everywhere as soon
// as the delete is applied there (milliseconds on a healthy cluster).
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, opToken)
	if id == "" || strings.Contains(id, "/") {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "name a token: "+opToken+"<id>")
		return
	}
	res, err := s.node.Propose(r.Context(), &fsm.Command{Op: fsm.OpDelete, Key: auth.TokenKey(id)})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	if res.Code == fsm.CodeKeyNotFound {
		writeStatus(w, http.StatusNotFound, reasonNotFound, "no token with id "+id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
}
