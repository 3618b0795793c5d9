package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Getter reads a stored record by key, reporting whether it exists. The API
// server passes a function over its local store replica; it must be safe
// for concurrent use.
type Getter func(key string) ([]byte, bool)

// Authenticator maps a request's bearer token to a User. It is safe for
// concurrent use.
type Authenticator struct {
	// builtin holds the digests of the cluster tokens it accepts and of the
	// admin tokens derived from them; empty cluster tokens are left out,
	// so neither they nor their admin tokens authenticate anyone.
	builtin []builtinDigests
	get     Getter

	// inProcess maps the SHA-256 digests of in-process credentials (the
	// leader-only components' tokens) to their users.
	inProcessMu sync.RWMutex
	inProcess   map[[sha256.Size]byte]User
}

// builtinDigests are the SHA-256 digests of one cluster token and of the
// admin token derived from it.
type builtinDigests struct {
	cluster, admin [sha256.Size]byte
}

// NewAuthenticator returns an Authenticator that accepts clusterToken and
// every accepted token (the cluster tokens of a rotation in progress), the
// admin tokens derived from each, and tokens whose records get returns.
// Empty cluster tokens are ignored; a nil get disables stored tokens.
func NewAuthenticator(clusterToken string, get Getter, accepted ...string) *Authenticator {
	a := &Authenticator{get: get}
	for _, t := range append([]string{clusterToken}, accepted...) {
		if t != "" {
			a.builtin = append(a.builtin, builtinDigests{
				cluster: sha256.Sum256([]byte(t)),
				admin:   sha256.Sum256([]byte(AdminToken(t))),
			})
		}
	}
	return a
}

// AddInProcess makes token authenticate as u until RemoveInProcess. The
// server mints such tokens in memory for its leader-only components; they
// are never stored, so they die with the leadership term they belong to.
func (a *Authenticator) AddInProcess(token string, u User) {
	a.inProcessMu.Lock()
	defer a.inProcessMu.Unlock()
	if a.inProcess == nil {
		a.inProcess = make(map[[sha256.Size]byte]User)
	}
	a.inProcess[sha256.Sum256([]byte(token))] = u
}

// RemoveInProcess withdraws a token AddInProcess accepted.
func (a *Authenticator) RemoveInProcess(token string) {
	a.inProcessMu.Lock()
	defer a.inProcessMu.Unlock()
	delete(a.inProcess, sha256.Sum256([]byte(token)))
}

// Authenticate reads the request's "Authorization: Bearer <token>" header
// and returns the token's user, or ok=false when there is no single such
// header or the token is unknown. The scheme is case-insensitive. Tokens
// are compared by their SHA-256 digests in constant time, so neither a
// token's content nor its length leaks through timing.
//
// Issued tokens become users named "system:node:<node>" for RoleNode and
// "token:<id>" otherwise.
func (a *Authenticator) Authenticate(r *http.Request) (User, bool) {
	token, ok := bearerToken(r.Header)
	if !ok {
		return User{}, false
	}
	sum := sha256.Sum256([]byte(token))
	// Every comparison always runs, so timing does not tell which matched.
	isCluster, isAdmin := 0, 0
	for _, b := range a.builtin {
		isCluster |= subtle.ConstantTimeCompare(sum[:], b.cluster[:])
		isAdmin |= subtle.ConstantTimeCompare(sum[:], b.admin[:])
	}
	switch {
	case isCluster == 1:
		return User{Name: ClusterUserName, Role: RoleCluster}, true
	case isAdmin == 1:
		return User{Name: AdminUserName, Role: RoleAdmin}, true
	}
	a.inProcessMu.RLock()
	u, ok := a.inProcess[sum]
	a.inProcessMu.RUnlock()
	if ok {
		// A map lookup by digest: the digest is of a 256-bit random
		// token, so its timing tells an attacker nothing useful.
		return u, true
	}
	id, _, ok := parseToken(token)
	if !ok || id == AdminTokenID || a.get == nil {
		return User{}, false
	}
	data, found := a.get(TokenKey(id))
	if !found {
		return User{}, false
	}
	var rec TokenRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.ID != id || checkGrant(rec.Role, rec.Node) != nil {
		return User{}, false
	}
	want, err := hex.DecodeString(rec.Hash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return User{}, false
	}
	if rec.Role == RoleNode {
		return User{Name: "system:node:" + rec.Node, Role: RoleNode, Node: rec.Node}, true
	}
	return User{Name: "token:" + id, Role: rec.Role}, true
}

// bearerToken returns the token of the request's only Authorization
// header, when it uses the Bearer scheme.
func bearerToken(h http.Header) (string, bool) {
	values := h.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}
