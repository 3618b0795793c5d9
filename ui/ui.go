package ui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is where the dashboard is served.
const Prefix = "/ui/"

// cookieName holds the session id.
const cookieName = "skiff_session"

// csrfHeader carries the session's CSRF token on mutating requests.
const csrfHeader = "X-CSRF-Token"

// contentSecurityPolicy allows the page's own scripts, styles and API calls
// and nothing else: no inline code, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config configures the dashboard.
type Config struct {
	// Backend serves the Kubernetes API and the operator routes and
	// authenticates the bearer token of each request it gets: the server's
	// own handler. The dashboard sends it the signed-in user's token.
	Backend http.Handler
	// Authenticate returns the user name and role of a token; ok is false
	// for an unknown token.
	Authenticate func(token string) (user, role string, ok bool)
	// ServerName is the name of the server serving the page, shown as
	// "answered by".
	ServerName string
	// Log receives the dashboard's logs (never a token or a code).
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the dashboard under Prefix.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	static   http.Handler
	mux      *http.ServeMux
}

// New returns the dashboard's handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("ui: embedded assets: " + err.Error())
	}
	h := &Handler{cfg: cfg, log: log.With("component", "ui"), sessions: newSessions(cfg.Now), static: http.FileServerFS(sub)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", h.page("index.html", true))
	mux.HandleFunc("GET /ui/login", h.loginPage)
	mux.HandleFunc("POST /ui/login", h.login)
	mux.HandleFunc("POST /ui/logout", h.logout)
	mux.HandleFunc("POST /ui/links", h.mintLink)
	mux.HandleFunc("GET /ui/session", h.sessionInfo)
	mux.HandleFunc("POST /ui/apply", h.apply)
	mux.HandleFunc("/ui/api/", h.proxy)
	mux.HandleFunc("GET /ui/static/", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/ui/static")
		w.Header().Set("Cache-Control", "no-cache")
		h.static.ServeHTTP(w, r2)
	})
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	h.mux = mux
	return h
}

// ServeHTTP sets the security headers every answer carries and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on the sign-in form's post, which sameOrigin cannot
	// tell from a cross-site one.
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// page serves an embedded HTML page; with needSession, a browser without
// a session goes to the sign-in page instead.
func (h *Handler) page(name string, needSession bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if needSession && h.current(r) == nil {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			http.Error(w, "missing page", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	}
}

// current returns the request's live session, or nil.
func (h *Handler) current(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	return h.sessions.get(c.Value)
}

// loginPage serves the sign-in form, or signs in with a one-time code
// and sends the browser on without the code in its address bar.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if c := r.URL.Query().Get("code"); c != "" {
		token, ok := h.sessions.redeem(c)
		if !ok {
			http.Redirect(w, r, "/ui/login?error=code", http.StatusSeeOther)
			return
		}
		if !h.startSession(w, token) {
			http.Redirect(w, r, "/ui/login?error=token", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	h.page("login.html", false)(w, r)
}

// login signs in with a token posted from the sign-in form.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-in refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8192)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, "/ui/login?error=form", http.StatusSeeOther)
		return
	}
	if !h.startSession(w, strings.TrimSpace(r.PostForm.Get("token"))) {
		http.Redirect(w, r, "/ui/login?error=token", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// startSession authenticates token and, for a dashboard role, sets the
// session cookie.
func (h *Handler) startSession(w http.ResponseWriter, token string) bool {
	if token == "" {
		return false
	}
	user, role, ok := h.cfg.Authenticate(token)
	if !ok || (role != "admin" && role != "read-only") {
		return false
	}
	ss := h.sessions.create(token, user, role)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ss.id, Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)})
	h.log.Info("dashboard sign-in", "user", user, "role", role)
	return true
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ss := h.current(r)
	if ss != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 8192)
		if err := r.ParseForm(); err != nil || !ss.csrfOK(r.PostForm.Get("csrf")) {
			http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		h.sessions.remove(ss.id)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// mintLink answers a client holding a token (skiff dashboard) with a
// one-time sign-in link.
func (h *Handler) mintLink(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "a bearer token is required"})
		return
	}
	if _, role, ok := h.cfg.Authenticate(token); !ok || (role != "admin" && role != "read-only") {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "only admin and read-only tokens may use the dashboard"})
		return
	}
	c, exp := h.sessions.mintCode(token)
	writeJSON(w, http.StatusOK, map[string]any{"path": "/ui/login?code=" + url.QueryEscape(c), "expires": exp.UTC().Format(time.RFC3339)})
}

// sessionInfo tells the page who is signed in and its CSRF token.
func (h *Handler) sessionInfo(w http.ResponseWriter, r *http.Request) {
	ss := h.current(r)
	if ss == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "not signed in"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"user": ss.user, "role": ss.role, "csrf": ss.csrf, "server": h.cfg.ServerName})
}

// allowedUpstream lists the backend paths the dashboard may reach.
func allowedUpstream(p string) bool {
	for _, pre := range []string{"/api/", "/apis/", "/skiff/v1/operator/raft", "/skiff/v1/operator/members", "/version"} {
		if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// proxy forwards /ui/api/<path> to the backend as the session's user.
// Mutating requests need the CSRF header.
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request) {
	ss := h.current(r)
	if ss == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"kind": "Status", "message": "not signed in"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !ss.csrfOK(r.Header.Get(csrfHeader)) {
		writeJSON(w, http.StatusForbidden, map[string]string{"kind": "Status", "message": "missing or wrong CSRF token"})
		return
	}
	up := strings.TrimPrefix(r.URL.Path, "/ui/api")
	if !allowedUpstream(up) {
		http.NotFound(w, r)
		return
	}
	h.forward(w, r, ss, up, r.URL.RawQuery)
}

// forward sends r to the backend at path?query with the session's token
// and without the browser's cookies.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, ss *session, path, query string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = path, "", query
	r2.RequestURI = ""
	r2.Header.Del("Cookie")
	r2.Header.Del(csrfHeader)
	r2.Header.Set("Authorization", "Bearer "+ss.token)
	if r2.Header.Get("User-Agent") == "" || !strings.HasPrefix(r2.Header.Get("User-Agent"), "skiff-dashboard") {
		r2.Header.Set("User-Agent", "skiff-dashboard")
	}
	h.cfg.Backend.ServeHTTP(w, r2)
}

// sameOrigin reports whether a browser form post came from this origin:
// browsers say so in Sec-Fetch-Site, and older ones in Origin. A request
// with neither (curl) is not a browser's and cannot carry a victim's
// cookies.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin" || s == "none"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
