package auth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const testClusterToken = "0123456789abcdef0123456789abcdef0123456789abcdef"

// memStore is a Getter over a map.
type memStore map[string][]byte

func (m memStore) get(key string) ([]byte, bool) {
	v, ok := m[key]
	return v, ok
}

func (m memStore) put(t testing.TB, rec TokenRecord) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	m[TokenKey(rec.ID)] = b
}

func request(header ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://example/api/v1/pods", nil)
	for _, h := range header {
		r.Header.Add("Authorization", h)
	}
	return r
}

// tamper flips the last character of a token, keeping it well formed.
func tamper(token string) string {
	last := token[len(token)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return token[:len(token)-1] + string(repl)
}

func TestAuthenticate(t *testing.T) {
	store := memStore{}
	adminTok, adminRec, _ := NewToken(RoleAdmin, "", testNow)
	roTok, roRec, _ := NewToken(RoleReadOnly, "", testNow)
	nodeTok, nodeRec, _ := NewToken(RoleNode, "worker-1", testNow)
	for _, rec := range []TokenRecord{adminRec, roRec, nodeRec} {
		store.put(t, rec)
	}

	wrongHashTok, wrongHashRec, _ := NewToken(RoleAdmin, "", testNow)
	wrongHashRec.Hash = roRec.Hash
	store.put(t, wrongHashRec)

	// A record stored under another token's id: the id must match.
	movedTok, movedRec, _ := NewToken(RoleAdmin, "", testNow)
	moved, _ := json.Marshal(movedRec)
	otherTok, otherRec, _ := NewToken(RoleAdmin, "", testNow)
	store[TokenKey(otherRec.ID)] = moved

	clusterRoleTok, clusterRoleRec, _ := NewToken(RoleAdmin, "", testNow)
	clusterRoleRec.Role = RoleCluster
	store.put(t, clusterRoleRec)

	garbageTok, garbageRec, _ := NewToken(RoleAdmin, "", testNow)
	store[TokenKey(garbageRec.ID)] = []byte("{not json")

	badHexTok, badHexRec, _ := NewToken(RoleAdmin, "", testNow)
	badHexRec.Hash = "zz" + badHexRec.Hash[2:]
	store.put(t, badHexRec)

	unstoredTok, _, _ := NewToken(RoleAdmin, "", testNow)

	// An admin-id record must not be consulted.
	fakeAdmin := "skf1." + AdminTokenID + ".00000000000000000000000000000000"
	store.put(t, TokenRecord{ID: AdminTokenID, Hash: hashHex(fakeAdmin), Role: RoleAdmin})

	a := NewAuthenticator(testClusterToken, store.get)
	tests := []struct {
		name   string
		header []string
		want   User
		wantOK bool
	}{
		{"cluster token", []string{"Bearer " + testClusterToken}, User{Name: ClusterUserName, Role: RoleCluster}, true},
		{"admin token", []string{"Bearer " + AdminToken(testClusterToken)}, User{Name: AdminUserName, Role: RoleAdmin}, true},
		{"issued admin", []string{"Bearer " + adminTok}, User{Name: "token:" + adminRec.ID, Role: RoleAdmin}, true},
		{"issued read-only", []string{"Bearer " + roTok}, User{Name: "token:" + roRec.ID, Role: RoleReadOnly}, true},
		{"issued node", []string{"Bearer " + nodeTok}, User{Name: "system:node:worker-1", Role: RoleNode, Node: "worker-1"}, true},
		{"lower-case scheme and padding", []string{"  bearer   " + roTok + " "}, User{Name: "token:" + roRec.ID, Role: RoleReadOnly}, true},

		{"no header", nil, User{}, false},
		{"two headers", []string{"Bearer " + adminTok, "Bearer " + adminTok}, User{}, false},
		{"basic scheme", []string{"Basic " + adminTok}, User{}, false},
		{"no scheme", []string{adminTok}, User{}, false},
		{"empty token", []string{"Bearer "}, User{}, false},
		{"token with a space", []string{"Bearer " + adminTok + " extra"}, User{}, false},
		{"tampered issued token", []string{"Bearer " + tamper(adminTok)}, User{}, false},
		{"tampered admin token", []string{"Bearer " + tamper(AdminToken(testClusterToken))}, User{}, false},
		{"cluster token prefix", []string{"Bearer " + testClusterToken[:len(testClusterToken)-1]}, User{}, false},
		{"admin token of another cluster", []string{"Bearer " + AdminToken("another cluster")}, User{}, false},
		{"record with the wrong hash", []string{"Bearer " + wrongHashTok}, User{}, false},
		{"record under another id", []string{"Bearer " + otherTok}, User{}, false},
		{"token whose record moved", []string{"Bearer " + movedTok}, User{}, false},
		{"stored record with the cluster role", []string{"Bearer " + clusterRoleTok}, User{}, false},
		{"record that is not JSON", []string{"Bearer " + garbageTok}, User{}, false},
		{"record whose hash is not hex", []string{"Bearer " + badHexTok}, User{}, false},
		{"unknown token", []string{"Bearer " + unstoredTok}, User{}, false},
		{"stored record for the admin id", []string{"Bearer " + fakeAdmin}, User{}, false},
		{"upper-case token", []string{"Bearer " + strings.ToUpper(adminTok)}, User{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := a.Authenticate(request(tt.header...))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Authenticate = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestAuthenticateAcceptedTokens checks an Authenticator in the middle of a
// rotation: the cluster token in use, the accepted ones and the admin
// tokens of each authenticate; tokens it was not given, and the empty
// token's admin token, do not.
func TestAuthenticateAcceptedTokens(t *testing.T) {
	const oldToken, newToken = "old-cluster-token-0123456789", "new-cluster-token-0123456789"
	a := NewAuthenticator(testClusterToken, nil, oldToken, "", newToken)
	cluster := User{Name: ClusterUserName, Role: RoleCluster}
	admin := User{Name: AdminUserName, Role: RoleAdmin}
	tests := []struct {
		name   string
		token  string
		want   User
		wantOK bool
	}{
		{"token in use", testClusterToken, cluster, true},
		{"first accepted token", oldToken, cluster, true},
		{"last accepted token", newToken, cluster, true},
		{"admin token of the token in use", AdminToken(testClusterToken), admin, true},
		{"admin token of an accepted token", AdminToken(oldToken), admin, true},
		{"admin token of the other accepted token", AdminToken(newToken), admin, true},
		{"a token not accepted", "other-cluster-token-0123456789", User{}, false},
		{"its admin token", AdminToken("other-cluster-token-0123456789"), User{}, false},
		{"admin token of the empty token", AdminToken(""), User{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := a.Authenticate(request("Bearer " + tt.token))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Authenticate = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAuthenticateWithoutClusterToken(t *testing.T) {
	a := NewAuthenticator("", nil)
	for _, h := range []string{"Bearer ", "Bearer " + AdminToken(""), "Bearer skf1.0123456789abcdef.0123456789abcdef0123456789abcdef"} {
		if u, ok := a.Authenticate(request(h)); ok {
			t.Errorf("Authenticate(%q) = %+v with no cluster token and no store", h, u)
		}
	}
}

// FuzzAuthenticate feeds arbitrary headers, and an arbitrary record stored
// under fuzzID, to Authenticate: it must never panic, and must accept only
// the known tokens or a token whose hash the fuzzed record holds.
func FuzzAuthenticate(f *testing.F) {
	const fuzzID = "00000000000000f0"
	fuzzTok := "skf1." + fuzzID + ".0123456789abcdef0123456789abcdef"
	store := memStore{}
	nodeTok, nodeRec, err := NewToken(RoleNode, "worker-1", testNow)
	if err != nil {
		f.Fatal(err)
	}
	store.put(f, nodeRec)
	goodRec, _ := json.Marshal(TokenRecord{ID: fuzzID, Hash: hashHex(fuzzTok), Role: RoleReadOnly})
	adminTok := AdminToken(testClusterToken)
	for _, seed := range []string{
		"Bearer " + testClusterToken,
		"Bearer " + adminTok,
		"Bearer " + nodeTok,
		"Bearer " + fuzzTok,
		"bearer " + tamper(nodeTok),
		"Bearer skf1.",
		"Bearer skf1." + nodeRec.ID + ".",
		"Basic dXNlcjpwYXNz",
		"Bearer",
		"",
		"Bearer \x00\xff",
	} {
		f.Add(seed, goodRec)
	}
	f.Add("Bearer "+fuzzTok, []byte(`{"id":"00000000000000f0","hash":"","role":"node"}`))
	f.Add("Bearer "+fuzzTok, []byte(`null`))
	valid := map[string]bool{testClusterToken: true, adminTok: true, nodeTok: true}
	f.Fuzz(func(t *testing.T, header string, record []byte) {
		s := memStore{TokenKey(nodeRec.ID): store[TokenKey(nodeRec.ID)], TokenKey(fuzzID): record}
		a := NewAuthenticator(testClusterToken, s.get)
		r := request()
		r.Header["Authorization"] = []string{header}
		u, ok := a.Authenticate(r)
		if !ok {
			if u != (User{}) {
				t.Fatalf("refused with a user %+v", u)
			}
			return
		}
		_, token, _ := strings.Cut(strings.TrimSpace(header), " ")
		token = strings.TrimSpace(token)
		if valid[token] {
			return
		}
		var rec TokenRecord
		if json.Unmarshal(record, &rec) != nil || !strings.EqualFold(rec.Hash, hashHex(token)) || rec.Role != u.Role || rec.Role == RoleCluster {
			t.Fatalf("header %q authenticated as %+v with record %q", header, u, record)
		}
	})
}
