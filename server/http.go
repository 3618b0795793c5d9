package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/internal/buildinfo"
	"github.com/skiffhq/skiff/internal/pki"
	"github.com/skiffhq/skiff/ui"
)

// Route is one registered HTTP route and who may call it: Roles lists the
// roles allowed; an empty list means the route is public.
type Route struct {
	Method, Path string
	Roles        []auth.Role
	// Peer routes also demand the caller's peer certificate: only another
	// server may call them.
	Peer bool
}

// Public reports whether the route takes no credentials.
func (r Route) Public() bool { return len(r.Roles) == 0 }

// Routes lists every route the API serves, for tests that walk them with
// no, bad and wrong-role credentials.
func (s *Server) Routes() []Route {
	var out []Route
	for _, p := range apiPrefixes {
		out = append(out, Route{Method: "GET", Path: p, Roles: apiRoles})
	}
	out = append(out, Route{Method: "GET", Path: "/metrics", Roles: metricsRoles}, Route{Method: "POST", Path: pathRegister, Roles: internalRoles})
	for _, r := range s.handlers() {
		out = append(out, r.Route)
	}
	return out
}

// Who may call what.
var (
	operatorRoles = []auth.Role{auth.RoleAdmin, auth.RoleCluster}
	adminRoles    = []auth.Role{auth.RoleAdmin, auth.RoleCluster}
	internalRoles = []auth.Role{auth.RoleCluster}
	metricsRoles  = []auth.Role{auth.RoleAdmin, auth.RoleReadOnly, auth.RoleCluster}
	// statusRoles may read the cluster's membership (the dashboard's
	// read-only users too); changing it stays with operatorRoles.
	statusRoles = []auth.Role{auth.RoleAdmin, auth.RoleReadOnly, auth.RoleCluster}
	apiRoles    = []auth.Role{auth.RoleAdmin, auth.RoleReadOnly, auth.RoleNode, auth.RoleController}
)

type route struct {
	Route
	h http.HandlerFunc
}

// apiPrefixes are the Kubernetes API's subtrees and its OpenAPI documents
// (which kubectl's validation reads), served by package apiserver.
var apiPrefixes = []string{"/api", "/api/", "/apis", "/apis/", "/openapi/v2", "/openapi/v3", "/openapi/v3/"}

func (s *Server) handlers() []route {
	return []route{
		{Route{"GET", "/livez", nil, false}, s.handleLivez},
		{Route{"GET", "/readyz", nil, false}, s.handleReadyz},
		{Route{"GET", "/version", nil, false}, s.handleVersion},
		{Route{"GET", opRaft, statusRoles, false}, s.handleRaftServers},
		{Route{"GET", opMembers, statusRoles, false}, s.handleMembers},
		{Route{"POST", opRaftRemove, operatorRoles, false}, s.handleRaftRemove},
		{Route{"POST", opRaftTransfer, operatorRoles, false}, s.handleRaftTransfer},
		{Route{"GET", opSnapshot, operatorRoles, false}, s.handleSnapshotSave},
		{Route{"PUT", opSnapshot, operatorRoles, false}, s.handleSnapshotRestore},
		{Route{"GET", opHash, operatorRoles, false}, s.handleHash},
		{Route{"POST", pathPropose, internalRoles, true}, s.handlePropose},
		{Route{"POST", pathProposeBatch, internalRoles, true}, s.handleProposeBatch},
		{Route{"GET", pathReadIndex, internalRoles, true}, s.handleReadIndex},
		{Route{"GET", pathStatus, internalRoles, true}, s.handleStatus},
		{Route{"GET", pathMembership, internalRoles, true}, s.handleMembership},
		{Route{"POST", pathMembership, internalRoles, true}, s.handleMembershipHint},
		{Route{"POST", pathRegister, internalRoles, false}, s.handleRegister},
		{Route{"POST", opTokens, adminRoles, false}, s.handleTokenCreate},
		{Route{"GET", opTokens, adminRoles, false}, s.handleTokenList},
		{Route{"DELETE", opToken, adminRoles, false}, s.handleTokenRevoke},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	paths := map[string][]route{}
	var order []string
	for _, r := range s.handlers() {
		if _, ok := paths[r.Path]; !ok {
			order = append(order, r.Path)
		}
		paths[r.Path] = append(paths[r.Path], r)
	}
	for _, p := range order {
		rs := paths[p]
		mux.HandleFunc(p, func(w http.ResponseWriter, req *http.Request) {
			for _, r := range rs {
				if r.Method != req.Method && !(r.Method == "GET" && req.Method == "HEAD") {
					continue
				}
				h := r.h
				if r.Peer {
					h = requirePeer(h)
				}
				s.guard(r.Roles, h).ServeHTTP(w, req)
				return
			}
			var allowed []string
			for _, r := range rs {
				allowed = append(allowed, r.Method)
			}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeStatus(w, http.StatusMethodNotAllowed, reasonMethodNotAllow, fmt.Sprintf("%s is not allowed on %s", req.Method, p))
		})
	}
	reg, metrics := s.newRegistry()
	mux.Handle("/metrics", s.guard(metricsRoles, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP))
	api := s.guard(apiRoles, s.newAPI(metrics).ServeHTTP)
	for _, p := range apiPrefixes {
		mux.Handle(p, api)
	}
	mux.Handle(ui.Prefix, s.newUI(mux))
	mux.HandleFunc("/", s.guard(append(operatorRoles, apiRoles...), func(w http.ResponseWriter, req *http.Request) {
		writeStatus(w, http.StatusNotFound, reasonNotFound, fmt.Sprintf("the server could not find the requested resource %s", req.URL.Path))
	}))
	return mux
}

type userKey struct{}

// userFrom returns the authenticated user of a request that passed guard.
func userFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

// guard authenticates the request's bearer token and lets it through when
// the user's role is one of roles (or roles is empty: a public route): 401
// without valid credentials, 403 with the wrong role.
func (s *Server) guard(roles []auth.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if len(roles) == 0 {
			h(w, req)
			return
		}
		u, ok := s.authn.Authenticate(req)
		if !ok {
			writeStatus(w, http.StatusUnauthorized, reasonUnauthorized, "Unauthorized: a valid bearer token is required")
			return
		}
		if !slices.Contains(roles, u.Role) {
			writeStatus(w, http.StatusForbidden, reasonForbidden, fmt.Sprintf("user %q (role %s) may not %s %s", u.Name, u.Role, req.Method, req.URL.Path))
			return
		}
		h(w, req.WithContext(context.WithValue(req.Context(), userKey{}, u)))
	}
}

// requirePeer lets a request through only if it came with a verified peer
// certificate: server-to-server calls are mutual TLS, and the cluster token
// alone (which workers also hold) is not enough.
func requirePeer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 || !slices.Contains(req.TLS.PeerCertificates[0].DNSNames, pki.PeerName) {
			writeStatus(w, http.StatusForbidden, reasonForbidden, "only another server may call "+req.URL.Path)
			return
		}
		h(w, req)
	}
}

func (s *Server) handleLivez(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "ok\n")
}

// handleReadyz answers 200 only when this server knows a leader and has
// applied everything the leader had committed when the request arrived.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.node.Linearize(ctx); err != nil {
		writeStatus(w, http.StatusServiceUnavailable, reasonUnavailable, "not ready: "+err.Error())
		return
	}
	if s.CA() == nil {
		writeStatus(w, http.StatusServiceUnavailable, reasonUnavailable, "not ready: no serving certificate yet")
		return
	}
	// A new cluster is ready once its system namespaces exist; after that,
	// readiness never depends on them again, so that nothing a user or a
	// restore does to them takes every server out of its load balancer.
	if !s.sawSystemObjects.Load() {
		if !apiserver.SystemNamespacesExist(s.node.Store()) {
			writeStatus(w, http.StatusServiceUnavailable, reasonUnavailable, "not ready: the system namespaces are being created")
			return
		}
		s.sawSystemObjects.Store(true)
	}
	io.WriteString(w, "ok\n")
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, buildinfo.Get())
}

// handlePropose applies a command forwarded by a follower. Only the leader
// applies; anyone else answers NotLeader so the follower looks again.
func (s *Server) handlePropose(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, fsm.MaxCommandSize+1))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "read command: "+err.Error())
		return
	}
	res, err := s.node.ApplyLocal(r.Context(), body)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleReadIndex(w http.ResponseWriter, r *http.Request) {
	rev, err := s.node.LeaderReadIndex(r.Context())
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{ Rev uint64 }{rev})
}

// nodeStatus is one server's view of itself, served to peers for
// `skiff cluster status`.
type nodeStatus struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	LastIndex uint64 `json:"last_index"`
	Applied   uint64 `json:"applied_revision"`
	// Token and Accepted are the fingerprints (auth.Fingerprint) of the
	// cluster token the server uses and of those it also accepts.
	Token    string   `json:"token_fingerprint"`
	Accepted []string `json:"accepted_fingerprints,omitempty"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.localStatus())
}

func (s *Server) localStatus() nodeStatus {
	return nodeStatus{ID: s.cfg.Name, State: s.node.Raft().State().String(), LastIndex: s.node.Raft().LastIndex(), Applied: s.node.Store().Rev(),
		Token: auth.Fingerprint(s.token), Accepted: s.acceptedFingerprints()}
}

// writeStoreError maps store errors to HTTP statuses; only the HTTP layer
// knows about status codes.
func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	code, reason := storeErrorStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "error", err)
	}
	writeStatus(w, code, reason, err.Error())
}

// storeErrorStatus returns the HTTP status and reason a store error is
// answered with.
func storeErrorStatus(err error) (int, string) {
	switch {
	// Unknown outcome first: a write cut off by shutdown also wraps
	// ErrClosed, and answering it as plain unavailability would tell the
	// forwarding server it was not applied.
	case errors.Is(err, raftstore.ErrUnknownOutcome):
		return http.StatusGatewayTimeout, reasonUnknownOutcome
	case errors.Is(err, raftstore.ErrNotLeader):
		return http.StatusMisdirectedRequest, reasonNotLeader
	case errors.Is(err, raftstore.ErrNoLeader), errors.Is(err, raftstore.ErrClosed):
		return http.StatusServiceUnavailable, reasonUnavailable
	case errors.Is(err, fsm.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, reasonRequestTooLarge
	case errors.Is(err, fsm.ErrBadEncoding), errors.Is(err, fsm.ErrInvalidCommand), errors.Is(err, fsm.ErrUnknownOp), errors.Is(err, fsm.ErrBadSnapshot):
		return http.StatusBadRequest, reasonBadRequest
	case errors.Is(err, raftstore.ErrUnknownServer):
		return http.StatusNotFound, reasonNotFound
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusGatewayTimeout, reasonTimeout
	}
	return http.StatusInternalServerError, reasonInternal
}
