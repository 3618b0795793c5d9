package cli

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/apiserver/auth"
)

const raftBody = `{"servers":[
 {"id":"s1","address":"127.0.0.1:7001","voter":true,"leader":true,"last_index":123,"reachable":true},
 {"id":"s2","address":"127.0.0.2:7001","voter":true,"leader":false,"last_index":120,"reachable":true},
 {"id":"s3","address":"127.0.0.3:7001","voter":false,"leader":false,"last_index":0,"reachable":false}]}`

func TestClusterCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		routes   map[string]http.HandlerFunc
		wantCode int
		wantOut  string
		wantErr  string
		wantReq  request // path, method and body of the one request
	}{
		{
			name: "tokens",
			args: []string{"cluster", "tokens"},
			routes: map[string]http.HandlerFunc{"GET /skiff/v1/operator/raft": jsonReply(200, `{"servers":[
 {"id":"s1","reachable":true,"token_fingerprint":"1111111111111111","accepted_fingerprints":["2222222222222222"]},
 {"id":"s2","reachable":true,"token_fingerprint":"2222222222222222","accepted_fingerprints":["1111111111111111","3333333333333333"]},
 {"id":"s3","reachable":true,"token_fingerprint":"2222222222222222"},
 {"id":"s4","reachable":false}]}`)},
			wantOut: "NAME  USES              ACCEPTS                            REACHABLE\n" +
				"s1    1111111111111111  2222222222222222                   yes\n" +
				"s2    2222222222222222  1111111111111111,3333333333333333  yes\n" +
				"s3    2222222222222222  -                                  yes\n" +
				"s4    ?                 ?                                  no\n",
			wantReq: request{method: "GET", path: "/skiff/v1/operator/raft"},
		},
		{
			name:    "remove",
			args:    []string{"cluster", "remove", "s3"},
			routes:  map[string]http.HandlerFunc{"POST /skiff/v1/operator/raft/remove": jsonReply(200, `{"removed":"s3"}`)},
			wantOut: "removed s3\n",
			wantReq: request{method: "POST", path: "/skiff/v1/operator/raft/remove", contentType: "application/json", body: []byte(`{"id":"s3"}`)},
		},
		{
			name: "transfer leadership to anyone",
			args: []string{"cluster", "transfer-leadership"},
			routes: map[string]http.HandlerFunc{
				"POST /skiff/v1/operator/raft/transfer-leadership": jsonReply(200, `{"leader":"s2"}`)},
			wantOut: "leadership transferred to s2\n",
			wantReq: request{method: "POST", path: "/skiff/v1/operator/raft/transfer-leadership", contentType: "application/json", body: []byte(`{}`)},
		},
		{
			name: "transfer leadership, new leader not yet known",
			args: []string{"cluster", "transfer-leadership"},
			routes: map[string]http.HandlerFunc{
				"POST /skiff/v1/operator/raft/transfer-leadership": jsonReply(200, `{"leader":""}`)},
			wantOut: "leadership transferred; see the new leader with: skiff cluster status\n",
			wantReq: request{method: "POST", path: "/skiff/v1/operator/raft/transfer-leadership", contentType: "application/json", body: []byte(`{}`)},
		},
		{
			name: "transfer leadership to a server",
			args: []string{"cluster", "transfer-leadership", "s3"},
			routes: map[string]http.HandlerFunc{
				"POST /skiff/v1/operator/raft/transfer-leadership": jsonReply(200, `{"leader":"s3"}`)},
			wantOut: "leadership transferred to s3\n",
			wantReq: request{method: "POST", path: "/skiff/v1/operator/raft/transfer-leadership", contentType: "application/json", body: []byte(`{"id":"s3"}`)},
		},
		{
			name: "error status",
			args: []string{"cluster", "remove", "s9"},
			routes: map[string]http.HandlerFunc{
				"POST /skiff/v1/operator/raft/remove": statusReply(404, "NotFound", `server "s9" is not in the raft configuration`)},
			wantCode: 1,
			wantErr:  "skiff: server \"s9\" is not in the raft configuration\n",
			wantReq:  request{method: "POST", path: "/skiff/v1/operator/raft/remove", contentType: "application/json", body: []byte(`{"id":"s9"}`)},
		},
		{
			name: "error that is not a status",
			args: []string{"cluster", "status"},
			routes: map[string]http.HandlerFunc{"GET /skiff/v1/operator/raft": func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "upstream down", http.StatusBadGateway)
			}},
			wantCode: 1,
			wantErr:  "/skiff/v1/operator/raft: 502 Bad Gateway: upstream down\n",
			wantReq:  request{method: "GET", path: "/skiff/v1/operator/raft"},
		},
		{
			name:     "malformed response",
			args:     []string{"cluster", "status"},
			routes:   map[string]http.HandlerFunc{"GET /skiff/v1/operator/raft": jsonReply(200, `{"servers":`)},
			wantCode: 1,
			wantErr:  "decode response of GET",
			wantReq:  request{method: "GET", path: "/skiff/v1/operator/raft"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.routes)
			args := append(tt.args, "--server", api.URL, "--token", "tok-123")
			r := runCLI(t, nil, args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, tt.wantCode, r.stderr)
			}
			if r.stdout != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.wantOut)
			}
			if !strings.Contains(r.stderr, tt.wantErr) || (tt.wantErr == "") != (r.stderr == "") {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tt.wantErr)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.method != tt.wantReq.method || got.path != tt.wantReq.path || got.contentType != tt.wantReq.contentType ||
				strings.TrimSpace(string(got.body)) != string(tt.wantReq.body) {
				t.Errorf("request %s %s %q %q, want %s %s %q %q", got.method, got.path, got.contentType, got.body,
					tt.wantReq.method, tt.wantReq.path, tt.wantReq.contentType, tt.wantReq.body)
			}
			if got.auth != "Bearer tok-123" {
				t.Errorf("Authorization %q, want %q", got.auth, "Bearer tok-123")
			}
		})
	}
}

// TestClientTokenSources checks where the bearer token comes from.
func TestClientTokenSources(t *testing.T) {
	api := newFakeAPI(t, map[string]http.HandlerFunc{"GET /skiff/v1/operator/raft": jsonReply(200, `{"servers":[]}`)})
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "token"), []byte("file-token-000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(cfg, []byte("name: s1\ndata_dir: "+dataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string
	}{
		{"flag", []string{"SKIFF_TOKEN=env-token"}, []string{"--token", "flag-token"}, "Bearer flag-token"},
		{"env", []string{"SKIFF_TOKEN=env-token"}, nil, "Bearer env-token"},
		{"token file of --config", nil, []string{"--config", cfg}, "Bearer file-token-000000"},
		{"none", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := append([]string{"SKIFF_SERVER=" + api.URL}, tt.environ...)
			r := runCLI(t, environ, append([]string{"cluster", "tokens"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			reqs := api.requests()
			if got := reqs[len(reqs)-1].auth; got != tt.want {
				t.Errorf("Authorization %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	api := newFakeAPI(t, nil)
	url := api.URL
	api.Close() // nothing listens there any more
	r := runCLI(t, nil, "cluster", "status", "--server", url)
	want := "skiff: cannot reach server at " + url
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

func TestTokenFingerprint(t *testing.T) {
	const a, b = "first-cluster-token-0123", "second-cluster-token-0123"
	tests := []struct {
		name, stdin string
		wantOut     string
		wantErr     string
	}{
		{"one token", a + "\n", auth.Fingerprint(a) + "\n", ""},
		{"two tokens, blank lines and padding", "\n  " + a + " \n\n" + b, auth.Fingerprint(a) + "\n" + auth.Fingerprint(b) + "\n", ""},
		{"nothing", "\n", "", "skiff: no token on standard input"},
		{"too short", a + "\n\nshort\n", auth.Fingerprint(a) + "\n", "skiff: line 3: a cluster token has at least 16 characters, got 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLIWithInput(t, tt.stdin, "token", "fingerprint")
			if r.stdout != tt.wantOut || !strings.HasPrefix(r.stderr, tt.wantErr) || (tt.wantErr == "") != (r.code == 0) {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q, stderr %q", r.code, r.stdout, r.stderr, tt.wantOut, tt.wantErr)
			}
			if strings.Contains(r.stderr, "short") {
				t.Errorf("stderr %q echoes a token", r.stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing argument", []string{"cluster", "remove"}, "skiff cluster remove takes 1 argument(s), got 0"},
		{"extra argument", []string{"cluster", "transfer-leadership", "a", "b"}, "takes at most 1 argument(s), got 2"},
		{"unknown flag", []string{"snapshot", "save", "--bogus", "x"}, "unknown flag: --bogus"},
		{"bad server URL", []string{"cluster", "status", "--server", "localhost:7443"}, `server "localhost:7443": want a URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want failure containing %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestDashboardPrintsOneTimeLink(t *testing.T) {
	api := newFakeAPI(t, map[string]http.HandlerFunc{
		"POST /ui/links": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"path":"/ui/login?code=abc","expires":"2026-12-07T03:00:00Z"}`)
		},
	})
	res := runCLI(t, nil, "dashboard", "--server", api.URL, "--token", "tok-1234567890abcdef")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if want := api.URL + "/ui/login?code=abc\n"; !strings.HasPrefix(res.stdout, want) {
		t.Fatalf("stdout %q, want it to start with %q", res.stdout, want)
	}
	if got := api.requests()[0].auth; got != "Bearer tok-1234567890abcdef" {
		t.Fatalf("Authorization %q", got)
	}
}
