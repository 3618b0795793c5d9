package testcluster_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// send sends an unauthenticated request, or one with the given bearer
// token, trusting the cluster's CA.
func send(t *testing.T, ctx context.Context, c *testcluster.Cluster, method, url, token string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := c.HTTPClient()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestHTTPAPI checks the public endpoints, authentication of every other
// route, the operator listing and error bodies on one healthy cluster.
func TestHTTPAPI(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)

	t.Run("public endpoints", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if code, body := send(t, ctx, c, "GET", c.URL(i)+"/livez", "", nil); code != http.StatusOK {
				t.Errorf("server %d /livez: %d %s", i, code, body)
			}
			if code, body := send(t, ctx, c, "GET", c.URL(i)+"/readyz", "", nil); code != http.StatusOK {
				t.Errorf("server %d /readyz: %d %s", i, code, body)
			}
			code, body := send(t, ctx, c, "GET", c.URL(i)+"/version", "", nil)
			var v struct{ GitVersion string }
			if code != http.StatusOK || json.Unmarshal(body, &v) != nil || v.GitVersion == "" {
				t.Errorf("server %d /version: %d %s, want JSON with gitVersion", i, code, body)
			}
		}
	})

	t.Run("credentials required", func(t *testing.T) {
		routes := c.Server(0).Routes()
		private := 0
		for _, r := range routes {
			if r.Public() {
				continue
			}
			private++
			for _, token := range []string{"", "wrong-token-0123456789abcdef", c.Token() + "x"} {
				code, body := send(t, ctx, c, r.Method, c.URL(1)+r.Path, token, strings.NewReader(`{"id":"s1"}`))
				if code != http.StatusUnauthorized {
					t.Errorf("%s %s with token %q: %d %s, want 401", r.Method, r.Path, token, code, body)
					continue
				}
				requireStatus(t, r.Method+" "+r.Path, http.StatusUnauthorized, body)
			}
		}
		if private == 0 {
			t.Fatalf("no authenticated routes in %v", routes)
		}
	})

	t.Run("raft servers", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			code, body, err := c.Do(ctx, i, "GET", "/skiff/v1/operator/raft", nil)
			if err != nil || code != http.StatusOK {
				t.Fatalf("server %d: %d %v %s", i, code, err, body)
			}
			var list server.RaftServers
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatalf("server %d: %v: %s", i, err, body)
			}
			leaders := 0
			for _, s := range list.Servers {
				if s.Leader {
					leaders++
				}
				if !s.Voter || !s.Reachable || s.LastIndex == 0 {
					t.Errorf("server %d lists %+v, want a reachable voter with a last index", i, s)
				}
			}
			if len(list.Servers) != 3 || leaders != 1 {
				t.Errorf("server %d lists %d servers with %d leaders: %s", i, len(list.Servers), leaders, body)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		leader, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		follower := others(3, leader)[0]
		for _, tc := range []struct {
			name, method, path, body string
			via, code                int
		}{
			{"unknown path", "GET", "/skiff/v1/nothing-here", "", follower, http.StatusNotFound},
			{"wrong method", "DELETE", "/skiff/v1/operator/raft", "", follower, http.StatusMethodNotAllowed},
			{"remove: bad JSON on the leader", "POST", removePath, "{", leader, http.StatusBadRequest},
			{"remove: bad JSON through a follower", "POST", removePath, "{", follower, http.StatusBadRequest},
			{"remove: id of the wrong type", "POST", removePath, `{"id": 2}`, follower, http.StatusBadRequest},
			{"remove: no id", "POST", removePath, `{}`, follower, http.StatusBadRequest},
			{"remove: unknown server", "POST", removePath, `{"id": "s9"}`, follower, http.StatusNotFound},
			{"transfer: bad JSON", "POST", transferPath, "[", follower, http.StatusBadRequest},
			{"transfer: unknown server", "POST", transferPath, `{"id": "s9"}`, leader, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body, err := c.Do(ctx, tc.via, tc.method, tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if code != tc.code {
					t.Fatalf("%d %s, want %d", code, body, tc.code)
				}
				requireStatus(t, tc.name, tc.code, body)
			})
		}
		// None of that changed the configuration.
		if ids, err := raftIDs(node(t, c, leader)); err != nil || len(ids) != 3 {
			t.Fatalf("configuration after bad requests: %v %v", ids, err)
		}
	})
}

// TestReadyzOnPartitionedServer cuts a follower off: its /readyz turns 503
// with a Status body while the others stay ready, and it recovers after
// the partition heals. /livez stays 200 throughout.
func TestReadyzOnPartitionedServer(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cut := others(3, leader)[0]
	c.Partition(cut)

	readyz := func(i int) (int, []byte) { return send(t, ctx, c, "GET", c.URL(i)+"/readyz", "", nil) }
	var code int
	var body []byte
	if err := testcluster.WaitFor(testContext(t, 15*time.Second), func() bool {
		code, body = readyz(cut)
		return code == http.StatusServiceUnavailable
	}); err != nil {
		t.Fatalf("partitioned server %d /readyz: %d %s, want 503", cut, code, body)
	}
	requireStatus(t, "/readyz of a partitioned server", http.StatusServiceUnavailable, body)
	if code, body := send(t, ctx, c, "GET", c.URL(cut)+"/livez", "", nil); code != http.StatusOK {
		t.Errorf("partitioned server /livez: %d %s", code, body)
	}
	for _, i := range others(3, cut) {
		if code, body := readyz(i); code != http.StatusOK {
			t.Errorf("server %d in the majority /readyz: %d %s", i, code, body)
		}
	}

	c.Heal()
	if err := testcluster.WaitFor(ctx, func() bool {
		code, body = readyz(cut)
		return code == http.StatusOK
	}); err != nil {
		t.Fatalf("server %d /readyz after heal: %d %s", cut, code, body)
	}
}
