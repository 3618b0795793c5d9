package testcluster_test

import (
	"context"
	"encoding/json"
	"github.com/skiffhq/skiff/api/skiffv1"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/testcluster"
)

// issueToken stores a token of the given role directly in the store, as
// the token commands will.
func issueToken(t *testing.T, ctx context.Context, c *testcluster.Cluster, role auth.Role, node string) string {
	t.Helper()
	tok, rec, err := auth.NewToken(role, node, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rec)
	res, err := c.Server(0).Replica().Propose(ctx, &fsm.Command{Op: fsm.OpCreate, Key: auth.TokenKey(rec.ID), Value: b})
	if err != nil || res.Err() != nil {
		t.Fatalf("store token: %v %v", err, res.Err())
	}
	return tok
}

// TestRoles walks every route with each role's credentials: a role outside
// a route's list gets 403, one inside does not get 401 or 403.
func TestRoles(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tokens := map[auth.Role]string{
		auth.RoleAdmin:    c.AdminToken(),
		auth.RoleCluster:  c.Token(),
		auth.RoleReadOnly: issueToken(t, ctx, c, auth.RoleReadOnly, ""),
		auth.RoleNode:     issueToken(t, ctx, c, auth.RoleNode, "n1"),
	}
	// Tokens are read from each server's replica: wait until all have it.
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Server(0).Routes() {
		if r.Public() || r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/skiff/v1/internal") {
			continue
		}
		for role, tok := range tokens {
			allowed := false
			for _, a := range r.Roles {
				allowed = allowed || a == role
			}
			code, body := send(t, ctx, c, r.Method, c.URL(2)+r.Path, tok, nil)
			switch {
			case !allowed && code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d %s, want 403", r.Method, r.Path, role, code, body)
			case allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: %d %s, want access", r.Method, r.Path, role, code, body)
			}
		}
	}

	// Server-to-server routes want a peer certificate, not just the cluster
	// token that workers also hold.
	for _, r := range c.Server(0).Routes() {
		if !r.Peer {
			continue
		}
		if code, body := send(t, ctx, c, r.Method, c.URL(0)+r.Path, c.Token(), nil); code != http.StatusForbidden {
			t.Errorf("%s %s with the cluster token but no peer certificate: %d %s, want 403", r.Method, r.Path, code, body)
		}
	}

	// Inside the Kubernetes API: read-only reads but cannot write or read
	// secrets; a node writes only its own Node.
	base := c.URL(1) + "/api/v1"
	if code, body := send(t, ctx, c, "GET", base+"/namespaces", tokens[auth.RoleReadOnly], nil); code != http.StatusOK {
		t.Errorf("read-only list namespaces: %d %s", code, body)
	}
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	if code, body := send(t, ctx, c, "POST", base+"/namespaces/default/configmaps", tokens[auth.RoleReadOnly], strings.NewReader(cm)); code != http.StatusForbidden {
		t.Errorf("read-only create: %d %s, want 403", code, body)
	}
	if code, body := send(t, ctx, c, "GET", base+"/namespaces/default/secrets", tokens[auth.RoleReadOnly], nil); code != http.StatusForbidden {
		t.Errorf("read-only list secrets: %d %s, want 403", code, body)
	}
	node := func(name string) string {
		b, _ := json.Marshal(&corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: name}})
		return string(b)
	}
	if code, body := send(t, ctx, c, "POST", base+"/nodes", tokens[auth.RoleNode], strings.NewReader(node("n1"))); code != http.StatusCreated {
		t.Errorf("node creates its own Node: %d %s", code, body)
	}
	if code, body := send(t, ctx, c, "POST", base+"/nodes", tokens[auth.RoleNode], strings.NewReader(node("n2"))); code != http.StatusForbidden {
		t.Errorf("node creates another Node: %d %s, want 403", code, body)
	}
	if code, body := send(t, ctx, c, "POST", base+"/namespaces/default/configmaps", tokens[auth.RoleNode], strings.NewReader(cm)); code != http.StatusForbidden {
		t.Errorf("node creates a configmap: %d %s, want 403", code, body)
	}
}

// TestRegisterNode trades the cluster token for a node token that works as
// that node only.
func TestRegisterNode(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, body := send(t, ctx, c, "POST", c.URL(1)+"/skiff/v1/nodes/register", c.Token(), strings.NewReader(`{"node":"w1"}`))
	if code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	var reg skiffv1.RegisterResponse
	if err := json.Unmarshal(body, &reg); err != nil || reg.Token == "" || len(reg.Servers) != 3 || !strings.Contains(reg.CA, "BEGIN CERTIFICATE") {
		t.Fatalf("register response: %v %+v", err, reg)
	}
	if code, body := send(t, ctx, c, "POST", c.URL(0)+"/skiff/v1/nodes/register", c.AdminToken(), strings.NewReader(`{"node":"w1"}`)); code != http.StatusForbidden {
		t.Errorf("register with the admin token: %d %s, want 403", code, body)
	}
	var code2 int
	err := c.WaitFor(ctx, func() bool {
		code2, _ = send(t, ctx, c, "GET", c.URL(2)+"/api/v1/nodes", reg.Token, nil)
		return code2 == http.StatusOK
	})
	if err != nil {
		t.Fatalf("node token on another server: last %d", code2)
	}
}
