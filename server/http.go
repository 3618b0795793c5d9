package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/internal/buildinfo"
)

// Route is one registered HTTP route; Public routes take no credentials.
type Route struct {
	Method, Path string
	Public       bool
}

// Routes lists every route the API serves, for tests that walk them with
// and without credentials.
func (s *Server) Routes() []Route { return s.routeTable() }

type route struct {
	Route
	h http.HandlerFunc
}

// apiPrefixes are the Kubernetes API's subtrees, served by package
// apiserver.
var apiPrefixes = []string{"/api", "/api/", "/apis", "/apis/"}

func (s *Server) routeTable() []Route {
	var out []Route
	for _, p := range apiPrefixes {
		out = append(out, Route{Method: "GET", Path: p})
	}
	out = append(out, Route{Method: "GET", Path: "/metrics"})
	for _, r := range s.handlers() {
		out = append(out, r.Route)
	}
	return out
}

func (s *Server) handlers() []route {
	return []route{
		{Route{"GET", "/livez", true}, s.handleLivez},
		{Route{"GET", "/readyz", true}, s.handleReadyz},
		{Route{"GET", "/version", true}, s.handleVersion},
		{Route{"GET", opRaft, false}, s.handleRaftServers},
		{Route{"POST", opRaftRemove, false}, s.handleRaftRemove},
		{Route{"POST", opRaftTransfer, false}, s.handleRaftTransfer},
		{Route{"GET", opSnapshot, false}, s.handleSnapshotSave},
		{Route{"PUT", opSnapshot, false}, s.handleSnapshotRestore},
		{Route{"POST", pathPropose, false}, s.handlePropose},
		{Route{"GET", pathReadIndex, false}, s.handleReadIndex},
		{Route{"GET", pathStatus, false}, s.handleStatus},
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
				if !r.Public && !s.authorized(req) {
					writeStatus(w, http.StatusUnauthorized, reasonUnauthorized, "a valid bearer token is required")
					return
				}
				r.h(w, req)
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
	api := s.newAPI(metrics)
	mux.Handle("/metrics", s.requireToken(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	for _, p := range apiPrefixes {
		mux.HandleFunc(p, func(w http.ResponseWriter, req *http.Request) {
			if !s.authorized(req) {
				writeStatus(w, http.StatusUnauthorized, reasonUnauthorized, "a valid bearer token is required")
				return
			}
			api.ServeHTTP(w, req)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if !s.authorized(req) {
			writeStatus(w, http.StatusUnauthorized, reasonUnauthorized, "a valid bearer token is required")
			return
		}
		writeStatus(w, http.StatusNotFound, reasonNotFound, fmt.Sprintf("the server could not find the requested resource %s", req.URL.Path))
	})
	return mux
}

// requireToken refuses requests without the cluster token.
func (s *Server) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !s.authorized(req) {
			writeStatus(w, http.StatusUnauthorized, reasonUnauthorized, "a valid bearer token is required")
			return
		}
		h.ServeHTTP(w, req)
	})
}

// authorized checks the bearer token against the cluster token in
// constant time.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.token)) == 1
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
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.localStatus())
}

func (s *Server) localStatus() nodeStatus {
	return nodeStatus{ID: s.cfg.Name, State: s.node.Raft().State().String(), LastIndex: s.node.Raft().LastIndex(), Applied: s.node.Store().Rev()}
}

// writeStoreError maps store errors to HTTP statuses; only the HTTP layer
// knows about status codes.
func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, raftstore.ErrNotLeader):
		writeStatus(w, http.StatusMisdirectedRequest, reasonNotLeader, err.Error())
	case errors.Is(err, raftstore.ErrNoLeader), errors.Is(err, raftstore.ErrClosed):
		writeStatus(w, http.StatusServiceUnavailable, reasonUnavailable, err.Error())
	case errors.Is(err, raftstore.ErrUnknownOutcome):
		writeStatus(w, http.StatusGatewayTimeout, reasonUnknownOutcome, err.Error())
	case errors.Is(err, fsm.ErrTooLarge):
		writeStatus(w, http.StatusRequestEntityTooLarge, reasonRequestTooLarge, err.Error())
	case errors.Is(err, fsm.ErrBadEncoding), errors.Is(err, fsm.ErrInvalidCommand), errors.Is(err, fsm.ErrUnknownOp), errors.Is(err, fsm.ErrBadSnapshot):
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, err.Error())
	case errors.Is(err, raftstore.ErrUnknownServer):
		writeStatus(w, http.StatusNotFound, reasonNotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeStatus(w, http.StatusGatewayTimeout, reasonTimeout, err.Error())
	default:
		s.log.Error("request failed", "error", err)
		writeStatus(w, http.StatusInternalServerError, reasonInternal, err.Error())
	}
}
