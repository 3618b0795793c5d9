package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestClusterHash(t *testing.T) {
	hashReply := func(id string, rev uint64, hash string) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{"GET /skiff/v1/operator/hash": jsonReply(200, fmt.Sprintf(`{"id":%q,"revision":%d,"hash":%q}`, id, rev, hash))}
	}
	tests := []struct {
		name     string
		hashes   [3]map[string]http.HandlerFunc
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name:    "agree",
			hashes:  [3]map[string]http.HandlerFunc{hashReply("s1", 40, "aa"), hashReply("s2", 40, "aa"), hashReply("s3", 40, "aa")},
			wantOut: []string{"s1    40        aa", "s2    40        aa", "s3    40        aa"},
		},
		{
			name:    "one behind is not a divergence",
			hashes:  [3]map[string]http.HandlerFunc{hashReply("s1", 40, "aa"), hashReply("s2", 39, "bb"), hashReply("s3", 40, "aa")},
			wantOut: []string{"s2    39        bb"},
		},
		{
			name:     "diverged",
			hashes:   [3]map[string]http.HandlerFunc{hashReply("s1", 40, "aa"), hashReply("s2", 40, "aa"), hashReply("s3", 40, "cc")},
			wantCode: 1,
			wantErr:  "skiff: replicas at the same revision differ ([s3]): the store has diverged\n",
		},
		{
			name:    "unreachable server",
			hashes:  [3]map[string]http.HandlerFunc{hashReply("s1", 40, "aa"), hashReply("s2", 40, "aa"), {}},
			wantOut: []string{"s3    -         no route GET /skiff/v1/operator/hash"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addrs [3]string
			for i, routes := range tt.hashes {
				addrs[i] = strings.TrimPrefix(newFakeAPI(t, routes).URL, "http://")
			}
			raft := fmt.Sprintf(`{"servers":[{"id":"s1","api_address":%q,"leader":true,"voter":true},
				{"id":"s2","api_address":%q,"voter":true},{"id":"s3","api_address":%q,"voter":true}]}`, addrs[0], addrs[1], addrs[2])
			api := newFakeAPI(t, map[string]http.HandlerFunc{"GET /skiff/v1/operator/raft": jsonReply(200, raft)})
			res := runCLI(t, nil, "cluster", "hash", "--server", api.URL, "--token", "t0k3n")
			if res.code != tt.wantCode || res.stderr != tt.wantErr {
				t.Fatalf("code %d stderr %q, want %d %q", res.code, res.stderr, tt.wantCode, tt.wantErr)
			}
			for _, line := range tt.wantOut {
				if !strings.Contains(res.stdout, line) {
					t.Errorf("output lacks %q:\n%s", line, res.stdout)
				}
			}
		})
	}
}
