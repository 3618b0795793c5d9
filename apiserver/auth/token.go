package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Role is what a user may do; Authorize holds the rules of each.
type Role string

const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleReadOnly may get, list and watch everything but secrets.
	RoleReadOnly Role = "read-only"
	// RoleNode is a worker: it reads what a node needs and writes its own
	// Node, Lease and pods' status.
	RoleNode Role = "node"
	// RoleCluster is the shared cluster token's: server-to-server calls
	// and node registration only, on the server's internal routes, which
	// their handlers check by role. It may do nothing in the Kubernetes API.
	RoleCluster Role = "cluster"
	// RoleController is a leader-only component inside a server (the
	// scheduler, the controllers): it may read and write every API
	// resource but reach into no container. Its credentials live only in
	// the leader's memory, for one term; nobody can be issued one.
	RoleController Role = "controller"
)

// User is an authenticated caller.
type User struct {
	Name string
	Role Role
	// Node is the node's name for RoleNode, empty otherwise.
	Node string
	// Term is, for RoleController, the Raft term the component was
	// started in: the API fences its writes to that term.
	Term uint64
}

// Users that are not read from a TokenRecord.
const (
	ClusterUserName = "system:skiff:cluster"
	AdminUserName   = "admin"
)

// Token layout: "skf1." + 16 hex characters of id + "." + 32 of secret.
const (
	tokenPrefix = "skf1."
	idLen       = 16
	secretLen   = 32
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
	tokenKeys   = "/registry/skiff.io/tokens/"
)

// AdminTokenID is the id of the admin token. It is reserved: NewToken
// never returns it and Authenticate never looks it up in the store.
const AdminTokenID = "0000000000000000"

// adminLabel is the HMAC message that derives the admin token's secret
// from the cluster token; changing it changes every cluster's admin token.
const adminLabel = "skiff.io/admin-token/v1"

// fingerprintLabel is the HMAC message that derives a cluster token's
// fingerprint.
const fingerprintLabel = "skiff.io/token-fingerprint/v1"

// TokenRecord is what the store keeps of an issued token, as JSON under
// TokenKey(ID). It holds a hash, never the token itself.
type TokenRecord struct {
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the whole token string.
	Hash string `json:"hash"`
	Role Role   `json:"role"`
	// Node is the node's name for RoleNode, empty otherwise.
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
}

// TokenKey returns the store key of the record of the token with id.
func TokenKey(id string) string { return tokenKeys + id }

// NewToken returns a fresh random token and the record to store for it.
// role must be RoleAdmin, RoleReadOnly or RoleNode; node is required for
// RoleNode and refused otherwise. The cluster role belongs to the cluster
// token alone and cannot be issued.
func NewToken(role Role, node string, now time.Time) (token string, rec TokenRecord, err error) {
	if err := checkGrant(role, node); err != nil {
		return "", TokenRecord{}, fmt.Errorf("new token: %w", err)
	}
	var b [idLen/2 + secretLen/2]byte
	var id string
	for id == "" || id == AdminTokenID {
		if _, err := rand.Read(b[:]); err != nil {
			return "", TokenRecord{}, fmt.Errorf("new token: %w", err)
		}
		id = hex.EncodeToString(b[:idLen/2])
	}
	token = formatToken(id, hex.EncodeToString(b[idLen/2:]))
	return token, TokenRecord{
		ID:      id,
		Hash:    hashHex(token),
		Role:    role,
		Node:    node,
		Created: now.UTC(),
	}, nil
}

// AdminToken returns the built-in admin token of the cluster whose token
// is clusterToken: its secret is an HMAC-SHA256 of a fixed label keyed by
// the cluster token, and its id is AdminTokenID. Every server computes the
// same one; anyone who knows the cluster token can too.
func AdminToken(clusterToken string) string {
	m := hmac.New(sha256.New, []byte(clusterToken))
	m.Write([]byte(adminLabel))
	return formatToken(AdminTokenID, hex.EncodeToString(m.Sum(nil)[:secretLen/2]))
}

// Fingerprint returns a short name of a cluster token: 16 hex characters of
// an HMAC-SHA256 of a fixed label keyed by the token. Servers report the
// fingerprints of the tokens they use and accept, so an operator can check
// a rotation's progress without the tokens being shown. It reveals nothing
// about a random token; a guessable one can be tested against it, as
// against anything else derived from it.
func Fingerprint(clusterToken string) string {
	m := hmac.New(sha256.New, []byte(clusterToken))
	m.Write([]byte(fingerprintLabel))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// checkGrant reports whether a stored token may carry role and node.
func checkGrant(role Role, node string) error {
	switch role {
	case RoleNode:
		if node == "" {
			return fmt.Errorf("role %q needs a node name", role)
		}
	case RoleAdmin, RoleReadOnly:
		if node != "" {
			return fmt.Errorf("role %q takes no node name", role)
		}
	default:
		return fmt.Errorf("role %q cannot be issued", role)
	}
	return nil
}

func formatToken(id, secret string) string { return tokenPrefix + id + "." + secret }

// parseToken splits a well-formed token into its id and secret. Hex digits
// must be lower case, so each token has a single spelling.
func parseToken(token string) (id, secret string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return "", "", false
	}
	rest := token[len(tokenPrefix):]
	id, secret = rest[:idLen], rest[idLen+1:]
	if rest[idLen] != '.' || !isLowerHex(id) || !isLowerHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func hashHex(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
