package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
)

// TestFencedWriteAfterElectionIsConflict checks the API's side of fencing:
// a request whose writes are fenced to a term that has ended gets 409 with
// a message that says why, and nothing is written; an unfenced request in
// the same term succeeds.
func TestFencedWriteAfterElectionIsConflict(t *testing.T) {
	store := apitest.NewLocalStore()
	srv := apitest.Serve(t, apiserver.Config{Store: store, Admission: apitest.Admission(), FenceTerm: func(r *http.Request) uint64 {
		if r.Header.Get("X-Test-Component") != "" {
			return 1
		}
		return 0
	}})
	post := func(name string, component bool) (int, string) {
		t.Helper()
		body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"}}`
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/namespaces/default/configmaps", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if component {
			req.Header.Set("X-Test-Component", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := post("in-term", true); code != http.StatusCreated {
		t.Fatalf("fenced write in its term: %d %s", code, body)
	}
	store.SetTerm(2)
	code, body := post("after-election", true)
	if code != http.StatusConflict || !strings.Contains(body, "leadership changed") || !strings.Contains(body, "term 2") {
		t.Fatalf("fenced write after an election: %d %s; want 409 naming the leadership change", code, body)
	}
	if _, found, _ := store.Store().Get("/registry/configmaps/default/after-election"); found {
		t.Fatal("a refused fenced write was stored")
	}
	if code, body := post("user", false); code != http.StatusCreated {
		t.Fatalf("unfenced write after an election: %d %s", code, body)
	}
}
