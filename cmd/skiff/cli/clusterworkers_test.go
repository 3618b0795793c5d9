package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/apiserver/auth"
)

// onlyToken answers with h for requests bearing token and 401 otherwise.
func onlyToken(token string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeStatusJSON(w, http.StatusUnauthorized, "Unauthorized", "wrong token")
			return
		}
		h(w, r)
	}
}

const (
	membersBody = `{"members":[
 {"name":"s1","role":"server","address":"127.0.0.1:7946","state":"alive"},
 {"name":"w1","role":"worker","address":"10.0.0.1:7946","state":"alive"},
 {"name":"w3","role":"worker","address":"10.0.0.3:7946","state":"alive"}]}`
	nodesBody = `{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[
 {"metadata":{"name":"w1"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}],"conditions":[{"type":"Ready","status":"True"}]}},
 {"metadata":{"name":"w2"},"status":{"addresses":[{"type":"Hostname","address":"w2"},{"type":"InternalIP","address":"10.0.0.2"}],"conditions":[{"type":"Ready","status":"Unknown"}]}}]}`
	podsBody = `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
 {"metadata":{"name":"a"},"spec":{"nodeName":"w1"},"status":{"phase":"Running"}},
 {"metadata":{"name":"b"},"spec":{"nodeName":"w1"},"status":{"phase":"Pending"}},
 {"metadata":{"name":"c"},"spec":{"nodeName":"w1"},"status":{"phase":"Succeeded"}},
 {"metadata":{"name":"d"},"spec":{"nodeName":"w2"},"status":{"phase":"Running"}},
 {"metadata":{"name":"e"},"spec":{},"status":{"phase":"Pending"}}]}`
	raftTable = "NAME  ADDRESS         ROLE       LAST-INDEX  REACHABLE\n" +
		"s1    127.0.0.1:7001  leader     123         yes\n" +
		"s2    127.0.0.2:7001  follower   120         yes\n" +
		"s3    127.0.0.3:7001  non-voter  0           no\n\n"
)

// TestClusterStatusListsWorkers checks the workers table of cluster
// status: gossip members joined with Nodes and their pods, and what is
// shown when the token cannot read the API.
func TestClusterStatusListsWorkers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		routes   map[string]http.HandlerFunc
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{
			name: "members, nodes and pods",
			routes: map[string]http.HandlerFunc{
				"GET /api/v1/nodes": jsonReply(200, nodesBody), "GET /api/v1/pods": jsonReply(200, podsBody)},
			wantOut: raftTable +
				"WORKER  ADDRESS        GOSSIP  READY    PODS\n" +
				"w1      10.0.0.1:7946  alive   True     2\n" +
				"w2      10.0.0.2       gone    Unknown  1\n" +
				"w3      10.0.0.3:7946  alive   -        0\n",
		},
		{
			name: "a token without API access",
			routes: map[string]http.HandlerFunc{
				"GET /api/v1/nodes": statusReply(403, "Forbidden", "cluster token may not read nodes")},
			wantOut: raftTable +
				"WORKER  ADDRESS        GOSSIP  READY  PODS\n" +
				"w1      10.0.0.1:7946  alive   ?      ?\n" +
				"w3      10.0.0.3:7946  alive   ?      ?\n",
			wantErr: "note: READY and PODS unknown: cannot list nodes: cluster token may not read nodes",
		},
		{
			name: "a cluster token reads the API as the admin it derives",
			routes: map[string]http.HandlerFunc{
				"GET /api/v1/nodes": onlyToken(auth.AdminToken("tok-123"), jsonReply(200, nodesBody)),
				"GET /api/v1/pods":  onlyToken(auth.AdminToken("tok-123"), jsonReply(200, podsBody))},
			wantOut: raftTable +
				"WORKER  ADDRESS        GOSSIP  READY    PODS\n" +
				"w1      10.0.0.1:7946  alive   True     2\n" +
				"w2      10.0.0.2       gone    Unknown  1\n" +
				"w3      10.0.0.3:7946  alive   -        0\n",
		},
		{
			name: "pods unreadable",
			routes: map[string]http.HandlerFunc{
				"GET /api/v1/nodes": jsonReply(200, nodesBody), "GET /api/v1/pods": statusReply(403, "Forbidden", "no")},
			wantOut: raftTable +
				"WORKER  ADDRESS        GOSSIP  READY    PODS\n" +
				"w1      10.0.0.1:7946  alive   True     ?\n" +
				"w2      10.0.0.2       gone    Unknown  ?\n" +
				"w3      10.0.0.3:7946  alive   -        ?\n",
			wantErr: "note: PODS unknown",
		},
		{
			name: "no workers",
			routes: map[string]http.HandlerFunc{
				"GET /skiff/v1/operator/members": jsonReply(200, `{"members":[{"name":"s1","role":"server","state":"alive"}]}`),
				"GET /api/v1/nodes":              jsonReply(200, `{"items":[]}`), "GET /api/v1/pods": jsonReply(200, `{"items":[]}`)},
			wantOut: raftTable + "no workers\n",
		},
		{
			name: "members unreadable",
			routes: map[string]http.HandlerFunc{
				"GET /skiff/v1/operator/members": statusReply(403, "Forbidden", "members are secret")},
			wantCode: 1,
			wantOut:  strings.TrimSuffix(raftTable, "\n"),
			wantErr:  "skiff: list gossip members: members are secret\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routes := map[string]http.HandlerFunc{
				"GET /skiff/v1/operator/raft":    jsonReply(200, raftBody),
				"GET /skiff/v1/operator/members": jsonReply(200, membersBody),
			}
			for k, v := range tc.routes {
				routes[k] = v
			}
			api := newFakeAPI(t, routes)
			r := runCLI(t, nil, "cluster", "status", "--server", api.URL, "--token", "tok-123")
			if r.code != tc.wantCode || r.stdout != tc.wantOut {
				t.Errorf("exit %d stdout:\n%s\nwant %d and:\n%s", r.code, r.stdout, tc.wantCode, tc.wantOut)
			}
			if !strings.Contains(r.stderr, tc.wantErr) || (tc.wantErr == "") != (r.stderr == "") {
				t.Errorf("stderr %q, want %q", r.stderr, tc.wantErr)
			}
			for _, req := range api.requests() {
				if req.auth != "Bearer tok-123" && req.auth != "Bearer "+auth.AdminToken("tok-123") {
					t.Errorf("%s %s sent Authorization %q", req.method, req.path, req.auth)
				}
			}
		})
	}
}
