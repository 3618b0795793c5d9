package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	testNow     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tokenFormat = regexp.MustCompile(`^skf1\.[0-9a-f]{16}\.[0-9a-f]{32}$`)
)

func TestNewToken(t *testing.T) {
	tests := []struct {
		name    string
		role    Role
		node    string
		wantErr bool
	}{
		{"admin", RoleAdmin, "", false},
		{"read-only", RoleReadOnly, "", false},
		{"node", RoleNode, "n1", false},
		{"node without a name", RoleNode, "", true},
		{"admin with a node", RoleAdmin, "n1", true},
		{"read-only with a node", RoleReadOnly, "n1", true},
		{"cluster", RoleCluster, "", true},
		{"unknown role", Role("root"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, rec, err := NewToken(tt.role, tt.node, testNow)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewToken succeeded: %q", token)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tokenFormat.MatchString(token) {
				t.Fatalf("token %q is not skf1.<16 hex>.<32 hex>", token)
			}
			sum := sha256.Sum256([]byte(token))
			want := TokenRecord{ID: token[5:21], Hash: hex.EncodeToString(sum[:]), Role: tt.role, Node: tt.node, Created: testNow}
			if rec != want {
				t.Errorf("record = %+v, want %+v", rec, want)
			}
			if strings.Contains(rec.Hash, token[22:]) {
				t.Error("the record holds the secret")
			}
		})
	}
}

func TestNewTokenUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token, rec, err := NewToken(RoleReadOnly, "", testNow)
		if err != nil {
			t.Fatal(err)
		}
		if seen[token] || seen[rec.ID] || rec.ID == AdminTokenID {
			t.Fatalf("token %q repeats or takes the admin id", token)
		}
		seen[token], seen[rec.ID] = true, true
	}
}

func TestTokenKey(t *testing.T) {
	if got, want := TokenKey("0123456789abcdef"), "/registry/skiff.io/tokens/0123456789abcdef"; got != want {
		t.Errorf("TokenKey = %q, want %q", got, want)
	}
}

func TestAdminToken(t *testing.T) {
	a := AdminToken("cluster-token-one")
	if !tokenFormat.MatchString(a) {
		t.Fatalf("admin token %q is not formatted like a token", a)
	}
	if id, _, ok := parseToken(a); !ok || id != AdminTokenID {
		t.Errorf("admin token id = %q, want %q", id, AdminTokenID)
	}
	if again := AdminToken("cluster-token-one"); again != a {
		t.Errorf("AdminToken is not deterministic: %q then %q", a, again)
	}
	if b := AdminToken("cluster-token-two"); b == a {
		t.Error("two cluster tokens give the same admin token")
	}
	if strings.Contains(a, "cluster-token-one") {
		t.Error("the admin token reveals the cluster token")
	}
}

func TestFingerprint(t *testing.T) {
	f := Fingerprint("cluster-token-one")
	if len(f) != 16 || !isLowerHex(f) {
		t.Fatalf("fingerprint %q is not 16 lower-case hex characters", f)
	}
	if again := Fingerprint("cluster-token-one"); again != f {
		t.Errorf("Fingerprint is not deterministic: %q then %q", f, again)
	}
	if g := Fingerprint("cluster-token-two"); g == f {
		t.Error("two cluster tokens have the same fingerprint")
	}
	if strings.Contains(AdminToken("cluster-token-one"), f) {
		t.Error("the fingerprint is part of the admin token")
	}
}

func TestParseToken(t *testing.T) {
	valid := "skf1.0123456789abcdef.0123456789abcdef0123456789abcdef"
	if id, secret, ok := parseToken(valid); !ok || id != "0123456789abcdef" || secret != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("parseToken(%q) = %q, %q, %v", valid, id, secret, ok)
	}
	for _, bad := range []string{
		"",
		"skf1.",
		strings.ToUpper(valid),
		"skf1.0123456789ABCDEF.0123456789abcdef0123456789abcdef",
		"skf2.0123456789abcdef.0123456789abcdef0123456789abcdef",
		"skf1.0123456789abcdef-0123456789abcdef0123456789abcdef",
		"skf1.0123456789abcdeg.0123456789abcdef0123456789abcdef",
		"skf1.0123456789abcdef.0123456789abcdef0123456789abcde",
		valid + "0",
		"skf1.0123456789abcdef.0123456789abcdef0123456789abcd\u00e9",
	} {
		if _, _, ok := parseToken(bad); ok {
			t.Errorf("parseToken(%q) accepted", bad)
		}
	}
}
