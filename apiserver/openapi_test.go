package apiserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/apiserver"
)

func getOpenAPI(t *testing.T, api *apiserver.API, path, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec
}

// TestOpenAPIV3 checks what kubectl 1.27+ reads: for every served kind, a
// PATCH operation tagged with the kind that declares the fieldValidation
// query parameter (so kubectl leaves validation to the server) and the
// patch media types, in a document with components.
func TestOpenAPIV3(t *testing.T) {
	api := apiserver.New(apiserver.Config{})
	rec := getOpenAPI(t, api, "/openapi/v3", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("/openapi/v3: %d %s", rec.Code, rec.Body)
	}
	var root struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &root); err != nil {
		t.Fatalf("index: %v: %s", err, rec.Body)
	}
	for _, res := range apiserver.Resources() {
		gvk := res.GVK()
		t.Run(gvk.String(), func(t *testing.T) {
			gvPath := "apis/" + gvk.GroupVersion().String()
			if gvk.Group == "" {
				gvPath = "api/" + gvk.Version
			}
			entry, ok := root.Paths[gvPath]
			if !ok || !strings.Contains(entry.ServerRelativeURL, "?hash=") {
				t.Fatalf("index has %+v for %s, want a URL with a hash", entry, gvPath)
			}
			rec := getOpenAPI(t, api, entry.ServerRelativeURL, "application/json")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
				t.Fatalf("%s: %d %v", entry.ServerRelativeURL, rec.Code, rec.Header())
			}
			var doc spec3.OpenAPI
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("%s: %v", entry.ServerRelativeURL, err)
			}
			if doc.Components == nil || doc.Paths == nil {
				t.Fatalf("%s: components %v, paths %v; kubectl needs both", gvPath, doc.Components, doc.Paths)
			}
			patches := 0
			for path, item := range doc.Paths.Paths {
				op := item.Patch
				var ext map[string]string
				if op == nil || op.Extensions.GetObject("x-kubernetes-group-version-kind", &ext) != nil || ext["kind"] != gvk.Kind {
					continue
				}
				patches++
				if ext["group"] != gvk.Group || ext["version"] != gvk.Version {
					t.Errorf("%s: PATCH tagged %v", path, ext)
				}
				if !hasQueryParam3(op, "fieldValidation") || !hasQueryParam3(op, "dryRun") {
					t.Errorf("%s: PATCH lacks fieldValidation or dryRun", path)
				}
				if op.RequestBody == nil || op.RequestBody.Content["application/strategic-merge-patch+json"] == nil {
					t.Errorf("%s: PATCH does not take strategic merge patches", path)
				}
				if op.RequestBody.Content["application/apply-patch+yaml"] == nil || !hasQueryParam3(op, "fieldManager") || !hasQueryParam3(op, "force") {
					t.Errorf("%s: PATCH does not offer server-side apply with fieldManager and force", path)
				}
			}
			if patches != 1 {
				t.Errorf("%d PATCH operations for %s, want 1", patches, gvk)
			}
		})
	}
}

func hasQueryParam3(op *spec3.Operation, name string) bool {
	for _, p := range op.Parameters {
		if p.Name == name && p.In == "query" {
			return true
		}
	}
	return false
}

// TestOpenAPIV3OutdatedHash checks that a stale cached URL moves to the
// current document, as kube-apiserver does.
func TestOpenAPIV3OutdatedHash(t *testing.T) {
	api := apiserver.New(apiserver.Config{})
	rec := getOpenAPI(t, api, "/openapi/v3/apis/apps/v1?hash=0123", "")
	if rec.Code != http.StatusMovedPermanently || !strings.HasPrefix(rec.Header().Get("Location"), "/openapi/v3/apis/apps/v1?hash=") {
		t.Fatalf("stale hash: %d %v", rec.Code, rec.Header())
	}
	for _, path := range []string{"/openapi/v3/apis/nope/v1", "/openapi/v4", "/openapi/v3/api"} {
		if rec := getOpenAPI(t, api, path, ""); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
}

// TestOpenAPIV2 checks what older kubectl reads: the protobuf document,
// whose PATCH operations carry the kind and fieldValidation, and the same
// document as JSON.
func TestOpenAPIV2(t *testing.T) {
	api := apiserver.New(apiserver.Config{})
	// kubectl asks by the deprecated name; the answer carries the current one.
	rec := getOpenAPI(t, api, "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" {
		t.Fatalf("/openapi/v2: %d %v", rec.Code, rec.Header())
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("protobuf: %v", err)
	}
	if doc.GetSwagger() != "2.0" {
		t.Fatalf("swagger %q", doc.GetSwagger())
	}
	found := map[schema.GroupVersionKind]bool{}
	for _, path := range doc.GetPaths().GetPath() {
		op := path.GetValue().GetPatch()
		for _, ext := range op.GetVendorExtension() {
			if ext.GetName() != "x-kubernetes-group-version-kind" {
				continue
			}
			var gvk map[string]string
			if err := yaml.Unmarshal([]byte(ext.GetValue().GetYaml()), &gvk); err != nil {
				t.Fatalf("%s: %v", path.GetName(), err)
			}
			hasParam := false
			for _, p := range op.GetParameters() {
				hasParam = hasParam || p.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == "fieldValidation"
			}
			if !hasParam {
				t.Errorf("%s: PATCH lacks fieldValidation", path.GetName())
			}
			found[schema.GroupVersionKind{Group: gvk["group"], Version: gvk["version"], Kind: gvk["kind"]}] = true
		}
	}
	for _, res := range apiserver.Resources() {
		if !found[res.GVK()] {
			t.Errorf("no PATCH operation for %s", res.GVK())
		}
	}
	rec = getOpenAPI(t, api, "/openapi/v2", "application/json")
	var js map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &js) != nil || js["swagger"] != "2.0" {
		t.Fatalf("/openapi/v2 as JSON: %d %.200s", rec.Code, rec.Body)
	}
}
