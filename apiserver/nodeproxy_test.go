package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
)

// plainTransport sends the API's https requests to workers as plain
// HTTP, so a test worker can be an httptest server.
type plainTransport struct{}

func (plainTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u := *r.URL
	u.Scheme = "http"
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return http.DefaultTransport.RoundTrip(r2)
}

// TestNodeProxy checks nodes/{name}/proxy/...: path, query, body and
// answer pass through; the client's credentials do not; worker errors
// and unreachable or unknown nodes come back as Statuses naming the node.
func TestNodeProxy(t *testing.T) {
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/fail400":
			http.Error(w, "bad archive", http.StatusBadRequest)
		case "/fail500":
			http.Error(w, "disk full", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
				"body": string(body), "auth": r.Header.Get("Authorization"), "type": r.Header.Get("Content-Type")})
		}
	}))
	t.Cleanup(worker.Close)
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(worker.URL, "http://"))
	port, _ := strconv.Atoi(portStr)

	st := apitest.NewLocalStore()
	srv := apitest.Serve(t, apiserver.Config{Store: st, Admission: apitest.Admission(), NodeTransport: plainTransport{}})
	create := func(n *corev1.Node) {
		b, _ := json.Marshal(n)
		resp, err := http.Post(srv.URL+"/api/v1/nodes", "application/json", bytes.NewReader(b))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create node %s: %v %v", n.Name, err, resp.Status)
		}
		resp.Body.Close()
	}
	n1 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	n1.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1.example"}, {Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n1.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	create(n1)
	create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "silent"}})

	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string // in the answer
	}{
		{"get with path and query", "GET", "/api/v1/nodes/n1/proxy/stats/summary?only=cpu", "", 200,
			`"method":"GET","path":"/stats/summary","query":"only=cpu"`},
		{"post streams the body", "POST", "/api/v1/nodes/n1/proxy/images/import", "archive bytes", 200,
			`"auth":"","body":"archive bytes","method":"POST","path":"/images/import","query":"","type":"application/x-tar"`},
		{"proxy root", "GET", "/api/v1/nodes/n1/proxy", "", 200, `"path":"/"`},
		{"worker 400 keeps its code", "POST", "/api/v1/nodes/n1/proxy/fail400", "x", 400, `"message":"node n1: bad archive"`},
		{"worker 500 is unavailable", "GET", "/api/v1/nodes/n1/proxy/fail500", "", 503, `node n1: disk full (500 Internal Server Error)`},
		{"unknown node", "GET", "/api/v1/nodes/nope/proxy/stats/summary", "", 404, `"reason":"NotFound"`},
		{"node without endpoint", "GET", "/api/v1/nodes/silent/proxy/stats/summary", "", 503, `node silent advertises no worker endpoint`},
		{"other methods", "DELETE", "/api/v1/nodes/n1/proxy/stats/summary", "", 404, `"reason":"NotFound"`},
		{"only nodes proxy", "GET", "/api/v1/namespaces/default/pods/p/proxy/x", "", 404, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer secret")
			req.Header.Set("Content-Type", "application/x-tar")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s: %d %s\nwant %d and %s", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.want)
			}
		})
	}
}

// TestNodeProxyWithoutTransport: a server that cannot reach workers says so.
func TestNodeProxyWithoutTransport(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	resp, err := http.Post(srv.URL+"/api/v1/nodes", "application/json", strings.NewReader(`{"metadata":{"name":"n1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/api/v1/nodes/n1/proxy/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "cannot reach workers") {
		t.Errorf("got %d %s", resp.StatusCode, b)
	}
}
