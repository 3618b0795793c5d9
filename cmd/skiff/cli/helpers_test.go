package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/skiffhq/skiff/config"
)

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in-process with environ as its environment.
// Commands that would start a server fail the test.
func runCLI(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	return runCLIWithServer(t, context.Background(), environ, noServer(t), args...)
}

func runCLIWithServer(t *testing.T, ctx context.Context, environ []string,
	runServer func(context.Context, config.Server, *slog.Logger) error, args ...string) result {
	t.Helper()
	return runEnv(ctx, env{environ: environ, runServer: runServer}, args...)
}

// runCLIWithInput runs the command line with stdin as standard input.
func runCLIWithInput(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runEnv(context.Background(), env{stdin: strings.NewReader(stdin), runServer: noServer(t)}, args...)
}

// runEnv runs the command line in e, capturing its output.
func runEnv(ctx context.Context, e env, args ...string) result {
	var stdout, stderr bytes.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	code := run(ctx, args, e)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// noServer fails the test if a command starts a server.
func noServer(t *testing.T) func(context.Context, config.Server, *slog.Logger) error {
	return func(context.Context, config.Server, *slog.Logger) error {
		t.Error("unexpected server start")
		return nil
	}
}

// request is what the fake API saw of one request.
type request struct {
	method, path, auth, contentType string
	body                            []byte
}

// fakeAPI is an httptest server that records requests and answers each
// "METHOD /path" with a canned handler.
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newFakeAPI(t *testing.T, routes map[string]http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		f.mu.Unlock()
		h, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			writeStatusJSON(w, http.StatusNotFound, "NotFound", "no route "+r.Method+" "+r.URL.Path)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns the requests seen so far.
func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func writeStatusJSON(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

// jsonReply answers with a fixed JSON body.
func jsonReply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// statusReply answers with a Kubernetes-style Status.
func statusReply(code int, reason, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeStatusJSON(w, code, reason, message) }
}
