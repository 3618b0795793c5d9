package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// maxApplyBody bounds a pasted or uploaded manifest, like the API's body
// limit.
const maxApplyBody = 3 << 20

// applyResult is the outcome of one document of a manifest.
type applyResult struct {
	Document  int    `json:"document"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Code      int    `json:"code"`
	Message   string `json:"message"`
	// Causes are the API's field errors, for showing at the field.
	Causes []metav1.StatusCause `json:"causes,omitempty"`
}

// docHeader is what a document must say about itself to be applied.
type docHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// apply applies every document of a YAML or JSON manifest with
// server-side apply (field manager skiff-dashboard), as the signed-in
// user, and answers one result per document.
func (h *Handler) apply(w http.ResponseWriter, r *http.Request) {
	ss := h.current(r)
	if ss == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "not signed in"})
		return
	}
	if !ss.csrfOK(r.Header.Get(csrfHeader)) {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "missing or wrong CSRF token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxApplyBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": fmt.Sprintf("a manifest may hold at most %d bytes", maxApplyBody)})
		return
	}
	docs, err := splitDocuments(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	if len(docs) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "the manifest holds no object"})
		return
	}
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		ns = "default"
	}
	d := &discovery{h: h, r: r, ss: ss, lists: map[string]*metav1.APIResourceList{}}
	var out []applyResult
	for i, doc := range docs {
		out = append(out, h.applyOne(d, i+1, doc, ns))
	}
	writeJSON(w, http.StatusOK, out)
}

// splitDocuments returns the non-empty documents of a YAML stream (JSON
// is YAML), each converted to JSON.
func splitDocuments(b []byte) ([][]byte, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out [][]byte
	for n := 1; ; n++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		out = append(out, j)
	}
}

// applyOne applies one JSON document.
func (h *Handler) applyOne(d *discovery, n int, doc []byte, defaultNS string) applyResult {
	res := applyResult{Document: n}
	var hd docHeader
	if err := json.Unmarshal(doc, &hd); err != nil {
		res.Code, res.Message = http.StatusBadRequest, "not an object: "+err.Error()
		return res
	}
	res.Kind, res.Name = hd.Kind, hd.Metadata.Name
	switch {
	case hd.APIVersion == "":
		res.Code, res.Message = http.StatusBadRequest, "apiVersion is required"
		return res
	case hd.Kind == "":
		res.Code, res.Message = http.StatusBadRequest, "kind is required"
		return res
	case hd.Metadata.Name == "":
		res.Code, res.Message = http.StatusBadRequest, "metadata.name is required"
		return res
	}
	ar, err := d.find(hd.APIVersion, hd.Kind)
	if err != nil {
		res.Code, res.Message = http.StatusBadRequest, err.Error()
		return res
	}
	base := "/apis/" + hd.APIVersion
	if !strings.Contains(hd.APIVersion, "/") {
		base = "/api/" + hd.APIVersion
	}
	path := base
	if ar.Namespaced {
		res.Namespace = hd.Metadata.Namespace
		if res.Namespace == "" {
			res.Namespace = defaultNS
		}
		path += "/namespaces/" + url.PathEscape(res.Namespace)
	}
	path += "/" + ar.Name + "/" + url.PathEscape(hd.Metadata.Name)
	q := url.Values{"fieldManager": {"skiff-dashboard"}}
	rec := d.call(http.MethodPatch, path, q.Encode(), "application/apply-patch+yaml", doc)
	if rec.Code == http.StatusUnsupportedMediaType {
		// A server without server-side apply: create instead.
		rec = d.call(http.MethodPost, strings.TrimSuffix(path, "/"+url.PathEscape(hd.Metadata.Name)), "fieldManager=skiff-dashboard", "application/json", doc)
	}
	res.Code = rec.Code
	if rec.Code >= 200 && rec.Code < 300 {
		res.Message = "applied"
		return res
	}
	var st metav1.Status
	if json.Unmarshal(rec.Body.Bytes(), &st) == nil && st.Message != "" {
		res.Message = st.Message
		if st.Details != nil {
			res.Causes = st.Details.Causes
		}
	} else {
		res.Message = strings.TrimSpace(rec.Body.String())
	}
	return res
}

// discovery finds resources through the backend's discovery documents,
// as the user, caching each group version's list for one request.
type discovery struct {
	h     *Handler
	r     *http.Request
	ss    *session
	lists map[string]*metav1.APIResourceList
}

// call sends one request to the backend as the session's user.
func (d *discovery) call(method, path, query, contentType string, body []byte) *httptest.ResponseRecorder {
	r2, _ := http.NewRequestWithContext(d.r.Context(), method, "https://local"+path, bytes.NewReader(body))
	r2.URL.RawQuery = query
	r2.Host = d.r.Host
	r2.TLS = d.r.TLS
	r2.RemoteAddr = d.r.RemoteAddr
	if contentType != "" {
		r2.Header.Set("Content-Type", contentType)
	}
	r2.Header.Set("Accept", "application/json")
	r2.Header.Set("Authorization", "Bearer "+d.ss.token)
	r2.Header.Set("User-Agent", "skiff-dashboard")
	rec := httptest.NewRecorder()
	d.h.cfg.Backend.ServeHTTP(rec, r2)
	return rec
}

// find returns the resource serving kind in apiVersion.
func (d *discovery) find(apiVersion, kind string) (metav1.APIResource, error) {
	list, ok := d.lists[apiVersion]
	if !ok {
		path := "/apis/" + apiVersion
		if !strings.Contains(apiVersion, "/") {
			path = "/api/" + apiVersion
		}
		rec := d.call(http.MethodGet, path, "", "", nil)
		list = &metav1.APIResourceList{}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), list) != nil {
			list = nil
		}
		d.lists[apiVersion] = list
	}
	if list != nil {
		for _, r := range list.APIResources {
			if r.Kind == kind && !strings.Contains(r.Name, "/") {
				return r, nil
			}
		}
	}
	return metav1.APIResource{}, fmt.Errorf("the server does not serve kind %q in %q", kind, apiVersion)
}
