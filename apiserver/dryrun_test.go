package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/apiserver/apitest"
)

// TestDeleteOptionsBody checks the DeleteOptions a DELETE carries in its
// body, where client-go puts them: a dry run (kubectl delete
// --dry-run=server) deletes nothing, and a body of another kind is refused
// rather than ignored.
func TestDeleteOptionsBody(t *testing.T) {
	srv, st := apitest.NewServer(t)
	const cm = "/api/v1/namespaces/default/configmaps"
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(http.MethodPost, cm, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"dry run", "/keep", `{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","dryRun":["All"]}`, http.StatusOK},
		{"dry run without kind", "/keep", `{"dryRun":["All"]}`, http.StatusOK},
		{"dry run of the collection", "", `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`, http.StatusOK},
		{"unknown dryRun value", "/keep", `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["all"]}`, http.StatusUnprocessableEntity},
		{"a Pod", "/keep", `{"kind":"Pod","apiVersion":"v1"}`, http.StatusBadRequest},
		{"a Status", "", `{"kind":"Status","apiVersion":"v1"}`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, before := st.Store().Hash()
			if code, body := do(http.MethodDelete, cm+tc.path, tc.body); code != tc.want {
				t.Errorf("delete: %d %s, want %d", code, body, tc.want)
			}
			if _, after := st.Store().Hash(); after != before {
				t.Error("the delete changed the store")
			}
		})
	}
	if code, body := do(http.MethodDelete, cm+"/keep", `{"propagationPolicy":"Background"}`); code != http.StatusOK {
		t.Errorf("real delete: %d %s", code, body)
	}
	if code, _ := do(http.MethodGet, cm+"/keep", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
}
