package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/apiserver/apitest"
)

// TestSecretErrorsWithheld sends Secrets, and for contrast ConfigMaps, that
// the YAML parser or strategic merge patch refuse with a message quoting a
// value. For a Secret the answer is still a 400 but never holds the value;
// for a ConfigMap the library's message is kept, as it helps find the
// mistake.
func TestSecretErrorsWithheld(t *testing.T) {
	srv, _ := apitest.NewServer(t)
	const value = "hunter2-quoted-value"
	do := func(method, path, contentType, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, kind := range []struct{ kind, resource, field string }{{"Secret", "secrets", "stringData"}, {"ConfigMap", "configmaps", "data"}} {
		path := "/api/v1/namespaces/default/" + kind.resource
		head := "apiVersion: v1\nkind: " + kind.kind + "\nmetadata:\n  name: "
		if code, body := do("POST", path, "application/yaml", head+"good\n"); code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", kind.kind, code, body)
		}
		for _, tc := range []struct {
			name, method, path, contentType, body, detail string
		}{
			{"YAML tag", "POST", path, "application/yaml", head + "bad\n" + kind.field + ":\n  k: !!int " + value + "\n", "as a !!int"},
			{"YAML alias", "POST", path, "application/yaml", head + "bad\n" + kind.field + ":\n  k: *" + value + "\n", "unknown anchor"},
			{"YAML null key", "POST", path, "application/yaml", head + "bad\n" + kind.field + ":\n  ~: " + value + "\n", "unsupported map key"},
			{"strategic merge patch", "PATCH", path + "/good", "application/strategic-merge-patch+json", `{"$patch":"bogus","` + kind.field + `":{"k":"` + value + `"}}`, "unknown patch type"},
		} {
			t.Run(kind.kind+"/"+tc.name, func(t *testing.T) {
				code, body := do(tc.method, tc.path, tc.contentType, tc.body)
				if code != http.StatusBadRequest {
					t.Fatalf("%d %s, want 400", code, body)
				}
				leaked, explained := strings.Contains(body, value), strings.Contains(body, tc.detail)
				if kind.kind == "Secret" && (leaked || explained || !strings.Contains(body, "withheld")) {
					t.Errorf("the answer quotes the library (value %v, message %v) or does not say it withholds it: %s", leaked, explained, body)
				}
				if kind.kind == "ConfigMap" && !explained {
					t.Errorf("the answer lost the library's message %q: %s", tc.detail, body)
				}
			})
		}
	}
}
