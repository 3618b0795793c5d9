package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/apiserver/apitest"
	"github.com/skiffhq/skiff/internal/abuse"
)

// fuzzServer is an API over a local store with a few objects to patch and
// watch. Its handler is called directly, so a panic fails the fuzz target
// with its stack instead of being swallowed by net/http.
type fuzzServer struct {
	h  http.Handler
	st *apitest.LocalStore
}

// Objects every fuzz server holds, in namespace default.
var fuzzObjects = []struct{ path, body string }{
	{"/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz","labels":{"a":"b"}},"data":{"k":"v"}}`},
	{"/apis/apps/v1/namespaces/default/deployments", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"fuzz"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"fuzz"}},"template":{"metadata":{"labels":{"app":"fuzz"}},"spec":{"containers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}]}]}}}}`},
	{"/api/v1/namespaces/default/services", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"fuzz"},"spec":{"selector":{"app":"fuzz"},"ports":[{"name":"http","port":80},{"name":"https","port":443}]}}`},
	{"/api/v1/namespaces/default/pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz"},"spec":{"containers":[{"name":"c","image":"busybox","env":[{"name":"A","value":"1"}]}]}}`},
}

func newFuzzServer(f *testing.F) *fuzzServer {
	srv, st := apitest.NewServer(f)
	fs := &fuzzServer{h: srv.Config.Handler, st: st}
	for _, o := range fuzzObjects {
		req := httptest.NewRequest(http.MethodPost, o.path, strings.NewReader(o.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			f.Fatalf("create %s: %d %s", o.path, rec.Code, rec.Body)
		}
	}
	return fs
}

// serve serves req and checks the answer: no 5xx (504 only when the
// request asked for a revision the store has not reached), a Status body
// on every error, and no change to the store on an error.
func (fs *fuzzServer) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rev, before := fs.st.Store().Hash()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	fs.h.ServeHTTP(rec, req.WithContext(ctx))
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after 30s", req.Method, req.URL)
	}
	if rec.Code >= 500 && !(rec.Code == http.StatusGatewayTimeout && aheadOf(req.URL.Query(), rev)) {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if err := abuse.CheckStatus(abuse.Response{Code: rec.Code, ContentType: rec.Header().Get("Content-Type"), Body: rec.Body.Bytes()}); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	if _, after := fs.st.Store().Hash(); rec.Code >= 400 && after != before {
		t.Fatalf("%s %s: answered %d and changed the store", req.Method, req.URL, rec.Code)
	}
	return rec
}

// aheadOf reports whether q asks for a revision after rev (a 504 after a
// wait, as in Kubernetes).
func aheadOf(q url.Values, rev uint64) bool {
	for _, v := range q["resourceVersion"] {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > rev {
			return true
		}
	}
	return q.Get("continue") != ""
}

// boundQuery keeps a fuzzed query from waiting: resourceVersions ahead of
// the store are brought back to its revision (the server would wait 3s
// for them), and a watch's timeout is at most a second unless malformed.
func boundQuery(rawQuery string, rev uint64) string {
	q, _ := url.ParseQuery(rawQuery)
	changed := false
	for i, v := range q["resourceVersion"] {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > rev {
			q["resourceVersion"][i], changed = strconv.FormatUint(rev, 10), true
		}
	}
	if v := q.Get("timeoutSeconds"); v == "" || longerThanOne(v) {
		q.Set("timeoutSeconds", "0")
		changed = true
	}
	if !changed {
		return rawQuery
	}
	return q.Encode()
}

func longerThanOne(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 1
}

func newFuzzRequest(method, path, rawQuery, contentType string, body []byte) *http.Request {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req.URL.Path, req.URL.RawQuery = path, rawQuery
	req.RequestURI = req.URL.RequestURI()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

var (
	fuzzCreatePaths = []string{
		"/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/services",
		"/apis/apps/v1/namespaces/default/deployments", "/api/v1/namespaces", "/api/v1/namespaces/default/secrets",
		"/api/v1/nodes", "/api/v1/namespaces/default/pods/fuzz/binding", "/apis/coordination.k8s.io/v1/namespaces/default/leases",
		"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", "/api/v1/namespaces/default/events",
	}
	fuzzContentTypes = []string{
		"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "", "text/plain",
		"application/json; charset=utf-8",
	}
)

// FuzzCreate posts arbitrary bodies in several content types to several
// collections.
func FuzzCreate(f *testing.F) {
	for _, o := range fuzzObjects {
		f.Add(uint8(0), uint8(0), false, []byte(strings.Replace(o.body, `"fuzz"`, `"seed"`, 1)))
	}
	f.Add(uint8(1), uint8(0), true, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\nbogus: 1\n"))
	f.Add(uint8(0), uint8(2), false, []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":1,"nodePort":30001}]}}`))
	f.Add(uint8(0), uint8(7), false, []byte(`{"apiVersion":"v1","kind":"Binding","metadata":{"name":"fuzz"},"target":{"kind":"Node","name":"n1"}}`))
	f.Add(uint8(0), uint8(1), false, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"g-"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1e100"}}}]}}`))
	f.Add(uint8(2), uint8(0), false, []byte("k8s\x00garbage"))
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, ct, target uint8, strict bool, body []byte) {
		q := ""
		if strict {
			q = "fieldValidation=Strict"
		}
		path := fuzzCreatePaths[int(target)%len(fuzzCreatePaths)]
		fs.serve(t, newFuzzRequest(http.MethodPost, path, q, fuzzContentTypes[int(ct)%len(fuzzContentTypes)], body))
	})
}

var (
	fuzzPatchTypes = []string{
		"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	}
	fuzzPatchPaths = []string{
		"/api/v1/namespaces/default/configmaps/fuzz", "/apis/apps/v1/namespaces/default/deployments/fuzz",
		"/api/v1/namespaces/default/services/fuzz", "/api/v1/namespaces/default/pods/fuzz",
		"/apis/apps/v1/namespaces/default/deployments/fuzz/scale", "/apis/apps/v1/namespaces/default/deployments/fuzz/status",
		"/api/v1/namespaces/default/pods/fuzz/status", "/api/v1/namespaces/default",
	}
)

// FuzzPatch sends arbitrary patches of every patch type to existing
// objects and subresources.
func FuzzPatch(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte(`[{"op":"add","path":"/data/x","value":"y"}]`))
	f.Add(uint8(0), uint8(1), []byte(`[{"op":"replace","path":"/spec/replicas","value":3}]`))
	f.Add(uint8(1), uint8(0), []byte(`{"data":{"k":null,"z":"1"},"metadata":{"labels":{"c":"d"}}}`))
	f.Add(uint8(1), uint8(4), []byte(`{"spec":{"replicas":2}}`))
	f.Add(uint8(2), uint8(2), []byte(`{"spec":{"ports":[{"name":"http","port":8080}],"$setElementOrder/ports":[{"name":"https"},{"name":"http"}]}}`))
	f.Add(uint8(2), uint8(3), []byte(`{"spec":{"containers":[{"name":"c","env":[{"name":"A","$patch":"delete"}]}]}}`))
	f.Add(uint8(2), uint8(5), []byte(`{"status":{"replicas":-1}}`))
	f.Add(uint8(1), uint8(6), []byte(`{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}`))
	f.Add(uint8(3), uint8(0), []byte("apiVersion: v1\nkind: ConfigMap\n"))
	f.Add(uint8(1), uint8(7), []byte(`{"metadata":{"finalizers":null},"spec":{"finalizers":[]}}`))
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, pt, target uint8, patch []byte) {
		path := fuzzPatchPaths[int(target)%len(fuzzPatchPaths)]
		fs.serve(t, newFuzzRequest(http.MethodPatch, path, "", fuzzPatchTypes[int(pt)%len(fuzzPatchTypes)], patch))
	})
}

// FuzzRequestPath sends GET, PUT and DELETE to arbitrary paths with
// arbitrary queries.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []struct{ path, query string }{
		{"/api/v1/namespaces/default/configmaps", "limit=1&labelSelector=a%3Db"},
		{"/api/v1/namespaces/default/configmaps/fuzz", "resourceVersion=0"},
		{"/api/v1/watch/namespaces/default/pods", "fieldSelector=spec.nodeName%3D"},
		{"/apis/apps/v1/namespaces/default/deployments/fuzz/scale", ""},
		{"/api/v1/namespaces/default/pods/fuzz/status", "pretty=true"},
		{"/apis", ""}, {"/openapi/v3/api/v1", "hash=x"}, {"/api/v1/namespaces/kube-system", ""},
		{"/api/v1/namespaces/default/configmaps", "continue=eyJydiI6MSwic3RhcnQiOiIvcmVnaXN0cnkvY29uZmlnbWFwcy9kZWZhdWx0L2EifQ&limit=1"},
		{"//api//v1/../v1/namespaces/%2e%2e/configmaps", "watch=1&timeoutSeconds=x"},
		{"/api/v1/nodes/fuzz/proxy/stats/summary", "a=b"}, {"/api/v1/nodes/fuzz/proxy/../../x%2f/proxy", ""},
	} {
		for m := range 3 {
			f.Add(uint8(m), s.path, s.query, []byte(fuzzObjects[0].body))
		}
	}
	fs := newFuzzServer(f)
	methods := []string{http.MethodGet, http.MethodPut, http.MethodDelete}
	f.Fuzz(func(t *testing.T, m uint8, path, query string, body []byte) {
		rev, _ := fs.st.Store().Hash()
		method := methods[int(m)%len(methods)]
		fs.serve(t, newFuzzRequest(method, path, boundQuery(query, rev), "application/json", body))
	})
}

// FuzzWatchParams opens watches with arbitrary resourceVersion, selectors
// and flags; timeoutSeconds is 0 (or 1), so every watch ends. A watch
// that opens must stream well-formed events.
func FuzzWatchParams(f *testing.F) {
	f.Add(uint8(0), "", "", "", true, true, uint8(0))
	f.Add(uint8(0), "1", "a=b", "metadata.name=fuzz", true, false, uint8(0))
	f.Add(uint8(1), "0", "a in (b,c),!d", "spec.nodeName=", false, true, uint8(255))
	f.Add(uint8(2), "99999999999", "", "status.phase=Running", true, true, uint8(0))
	f.Add(uint8(3), "abc", "a in (", "a", false, false, uint8(0))
	fs := newFuzzServer(f)
	paths := []string{
		"/api/v1/namespaces/default/configmaps", "/api/v1/pods", "/api/v1/namespaces/default/pods",
		"/api/v1/watch/namespaces/default/configmaps/fuzz", "/apis/apps/v1/deployments", "/api/v1/namespaces",
	}
	f.Fuzz(func(t *testing.T, target uint8, rv, labelSel, fieldSel string, bookmarks, initial bool, timeout uint8) {
		rev, _ := fs.st.Store().Hash()
		q := url.Values{"watch": {"1"}, "labelSelector": {labelSel}, "fieldSelector": {fieldSel},
			"allowWatchBookmarks": {strconv.FormatBool(bookmarks)}, "timeoutSeconds": {"0"}}
		if rv != "" {
			q.Set("resourceVersion", rv)
		}
		if initial {
			q.Set("sendInitialEvents", "true")
		}
		if timeout == 255 {
			q.Set("timeoutSeconds", "1")
		}
		path := paths[int(target)%len(paths)]
		rec := fs.serve(t, newFuzzRequest(http.MethodGet, path, boundQuery(q.Encode(), rev), "", nil))
		if rec.Code != http.StatusOK {
			return
		}
		sc := bufio.NewScanner(rec.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var ev struct {
				Type   string
				Object json.RawMessage
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev.Object) == 0 {
				t.Fatalf("watch %s: bad event %q: %v", q.Encode(), sc.Bytes(), err)
			}
			switch ev.Type {
			case "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR":
			default:
				t.Fatalf("watch %s: event type %q", q.Encode(), ev.Type)
			}
		}
	})
}

// FuzzApply sends arbitrary server-side apply bodies, with and without
// force, as two managers, to existing and absent objects of several kinds.
func FuzzApply(f *testing.F) {
	f.Add(uint8(0), uint8(0), false, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fuzz\ndata:\n  k: w\n"))
	f.Add(uint8(1), uint8(1), true, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: fuzz\nspec:\n  replicas: 3\n"))
	f.Add(uint8(0), uint8(2), false, []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"fuzz"},"spec":{"ports":[{"port":80,"protocol":"TCP"},{"port":80,"protocol":"TCP"}]}}`))
	f.Add(uint8(1), uint8(3), false, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: fuzz, labels: {x: y}}\nspec:\n  containers:\n  - name: c\n    image: i\n  - name: c\n    image: j\n"))
	f.Add(uint8(0), uint8(4), false, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, resourceVersion: \"1\"}\n"))
	f.Add(uint8(0), uint8(5), true, []byte("apiVersion: apps/v1\nkind: Deployment\nstatus: {replicas: 2}\n"))
	f.Add(uint8(1), uint8(0), false, []byte("apiVersion: v1\nkind: ConfigMap\ndata: [1, 2]\n"))
	paths := []string{
		"/api/v1/namespaces/default/configmaps/fuzz", "/apis/apps/v1/namespaces/default/deployments/fuzz",
		"/api/v1/namespaces/default/services/fuzz", "/api/v1/namespaces/default/pods/fuzz",
		"/api/v1/namespaces/default/configmaps/new", "/apis/apps/v1/namespaces/default/deployments/fuzz/status",
	}
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, manager, target uint8, force bool, body []byte) {
		q := url.Values{"fieldManager": {[]string{"one", "two"}[manager%2]}}
		if force {
			q.Set("force", "true")
		}
		fs.serve(t, newFuzzRequest(http.MethodPatch, paths[int(target)%len(paths)], q.Encode(), "application/apply-patch+yaml", body))
	})
}
