package apiserver

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Skiff publishes a minimal OpenAPI description at /openapi/v2 and
// /openapi/v3: every served resource's paths and operations with the query
// parameters Skiff honours, and no schemas. kubectl needs it: its default
// validation (`kubectl create/apply` without --validate=false) downloads
// the OpenAPI and fails when the server answers 404.
//
//   - Current kubectl (1.32 tested) looks in /openapi/v3, then /openapi/v2,
//     for the fieldValidation parameter of the kind's PATCH operation;
//     finding it, it sends fieldValidation=Strict and leaves validation to
//     the server.
//   - kubectl from before server-side field validation (1.20 tested)
//     validates client-side against /openapi/v2, read as protobuf only, and
//     skips kinds the document has no schema for.
//
// Without schemas kubectl computes strategic merge patches from its
// compiled-in types, as it does for any kind the OpenAPI does not describe.
// `kubectl explain` needs schemas and finds none.

// openAPIV2Protobuf is the media type of /openapi/v2 as protobuf, the only
// form kubectl reads. Clients ask for it under its deprecated name,
// openAPIV2ProtobufDeprecated, too (kubectl does); kube-apiserver answers
// both with this one.
const (
	openAPIV2Protobuf           = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	openAPIV2ProtobufDeprecated = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// openAPIDocs is the rendered OpenAPI, built once: it depends only on the
// served resources.
type openAPIDocs struct {
	v2JSON, v2Proto []byte
	v3Root          []byte
	// v3 maps a group version's path ("api/v1", "apis/apps/v1") to its
	// document and the document's hash.
	v3     map[string][]byte
	v3Hash map[string]string
}

var openAPI = sync.OnceValues(buildOpenAPI)

// serveOpenAPI answers /openapi/v2, /openapi/v3 (the index of group
// versions) and /openapi/v3/<group version path>.
func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method))
		return
	}
	docs, err := openAPI()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/openapi/v2":
		if acceptsMediaType(r, openAPIV2Protobuf, openAPIV2ProtobufDeprecated) {
			writeDoc(w, r, openAPIV2Protobuf, docs.v2Proto)
		} else {
			writeDoc(w, r, "application/json", docs.v2JSON)
		}
	case path == "/openapi/v3":
		writeDoc(w, r, "application/json", docs.v3Root)
	case strings.HasPrefix(path, "/openapi/v3/") && docs.v3[strings.TrimPrefix(path, "/openapi/v3/")] != nil:
		gv := strings.TrimPrefix(path, "/openapi/v3/")
		hash := docs.v3Hash[gv]
		switch r.URL.Query().Get("hash") {
		case "":
			w.Header().Set("Cache-Control", "no-cache, private")
		case hash:
			// The URL names this content: clients may keep it.
			w.Header().Set("Cache-Control", "public, immutable, max-age=31536000")
		default:
			// Like kube-apiserver: an outdated hash moves to the current one.
			http.Redirect(w, r, "/openapi/v3/"+gv+"?hash="+hash, http.StatusMovedPermanently)
			return
		}
		w.Header().Set("ETag", `"`+hash+`"`)
		writeDoc(w, r, "application/json", docs.v3[gv])
	default:
		a.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, strings.TrimPrefix(r.URL.Path, "/")))
	}
}

func writeDoc(w http.ResponseWriter, r *http.Request, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// acceptsMediaType reports whether the Accept header names one of mts. It
// compares the strings: the "@" in the OpenAPI protobuf type is no valid
// media type character, and mime.ParseMediaType refuses it.
func acceptsMediaType(r *http.Request, mts ...string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(part, ";")
		for _, want := range mts {
			if strings.EqualFold(strings.TrimSpace(mt), want) {
				return true
			}
		}
	}
	return false
}

// oaParam is one parameter of an operation.
type oaParam struct {
	name, in, typ, desc string
}

// oaOp is one operation, rendered into both OpenAPI versions.
type oaOp struct {
	method, id, action string
	gvk                schema.GroupVersionKind
	params             []oaParam
	// consumes lists the body's media types; nil means no body.
	consumes []string
	// code is the status of success.
	code int
}

type oaPath struct {
	path string
	ops  []oaOp
}

var (
	paramName      = oaParam{"name", "path", "string", "name of the object"}
	paramNamespace = oaParam{"namespace", "path", "string", "object name and auth scope, such as for teams and projects"}
	// writeParams are what create, update and patch honour.
	writeParams = []oaParam{
		{"dryRun", "query", "string", "When present, indicates that modifications should not be persisted. The only valid value is All."},
		{"fieldValidation", "query", "string", "How the server treats unknown and duplicate fields in the body: Ignore, Warn (the default) or Strict."},
		{"fieldManager", "query", "string", "The name of the actor making the change, recorded in metadata.managedFields; required for apply patches."},
	}
	// patchParams add what only patches honour.
	patchParams = join(writeParams, []oaParam{
		{"force", "query", "boolean", "Force an apply patch to take fields other managers own. Only for apply patches."},
	})
	getParams      = []oaParam{{"resourceVersion", "query", "string", "Serve the object at this resourceVersion or later; empty means the latest."}}
	selectorParams = []oaParam{
		{"labelSelector", "query", "string", "A selector to restrict the list of returned objects by their labels."},
		{"fieldSelector", "query", "string", "A selector to restrict the list of returned objects by their fields."},
	}
	listParams = join(selectorParams, []oaParam{
		{"limit", "query", "integer", "The maximum number of objects to return; more can be had with continue."},
		{"continue", "query", "string", "The continue token of the previous page."},
		{"resourceVersion", "query", "string", "Serve the list at this resourceVersion or later; empty means the latest."},
		{"watch", "query", "boolean", "Watch for changes instead of listing."},
		{"allowWatchBookmarks", "query", "boolean", "Whether a watch may receive BOOKMARK events."},
		{"sendInitialEvents", "query", "boolean", "Whether a watch starts with the current objects."},
		{"timeoutSeconds", "query", "integer", "How long a watch lasts."},
	})
	deleteParams = []oaParam{
		{"dryRun", "query", "string", "When present, indicates that modifications should not be persisted. The only valid value is All."},
		{"gracePeriodSeconds", "query", "integer", "How long a pod bound to a node may take to stop."},
		{"propagationPolicy", "query", "string", "Orphan, Background or Foreground."},
	}
	patchTypes = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
	bodyTypes  = []string{"application/json"}
)

// openAPIPaths lists the paths and operations of every served resource,
// grouped by group version path ("api/v1", "apis/apps/v1").
func openAPIPaths() map[string][]oaPath {
	out := map[string][]oaPath{}
	for _, r := range resources {
		gv := r.GVR.GroupVersion()
		gvPath := "apis/" + gv.String()
		if gv.Group == "" {
			gvPath = "api/" + gv.Version
		}
		gvk := r.GVK()
		ns, nsParams := "", []oaParam(nil)
		if r.Namespaced {
			ns, nsParams = "Namespaced", []oaParam{paramNamespace}
		}
		version := strings.ToUpper(gv.Version[:1]) + gv.Version[1:]
		id := func(verb, infix string) string { return verb + operationGroup(gv) + version + infix + ns + r.Kind }
		coll := "/" + gvPath + "/" + r.GVR.Resource
		if r.Namespaced {
			coll = "/" + gvPath + "/namespaces/{namespace}/" + r.GVR.Resource
		}
		name := []oaParam{paramName}
		item := oaPath{path: coll + "/{name}", ops: []oaOp{
			{method: "get", id: id("read", ""), action: "get", gvk: gvk, params: join(nsParams, name, getParams), code: http.StatusOK},
			{method: "put", id: id("replace", ""), action: "put", gvk: gvk, params: join(nsParams, name, writeParams), consumes: bodyTypes, code: http.StatusOK},
			{method: "patch", id: id("patch", ""), action: "patch", gvk: gvk, params: join(nsParams, name, patchParams), consumes: patchTypes, code: http.StatusOK},
			{method: "delete", id: id("delete", ""), action: "delete", gvk: gvk, params: join(nsParams, name, deleteParams), code: http.StatusOK},
		}}
		collection := oaPath{path: coll, ops: []oaOp{
			{method: "get", id: id("list", ""), action: "list", gvk: gvk, params: join(nsParams, listParams), code: http.StatusOK},
			{method: "post", id: id("create", ""), action: "post", gvk: gvk, params: join(nsParams, writeParams), consumes: bodyTypes, code: http.StatusCreated},
			{method: "delete", id: id("delete", "Collection"), action: "deletecollection", gvk: gvk, params: join(nsParams, selectorParams, deleteParams), code: http.StatusOK},
		}}
		out[gvPath] = append(out[gvPath], item, collection)
		if r.Namespaced {
			out[gvPath] = append(out[gvPath], oaPath{path: "/" + gvPath + "/" + r.GVR.Resource, ops: []oaOp{
				{method: "get", id: "list" + operationGroup(gv) + version + r.Kind + "ForAllNamespaces", action: "list", gvk: gvk, params: listParams, code: http.StatusOK},
			}})
		}
	}
	return out
}

func join(lists ...[]oaParam) []oaParam {
	var out []oaParam
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// operationGroup is the group's part of an operation id, as Kubernetes
// names them: Core, Apps, Coordination.
func operationGroup(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "Core"
	}
	first, _, _ := strings.Cut(gv.Group, ".")
	return string(unicode.ToUpper(rune(first[0]))) + first[1:]
}

func gvkExtension(gvk schema.GroupVersionKind) map[string]string {
	return map[string]string{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// v2Operation renders op as a Swagger 2.0 operation.
func v2Operation(op oaOp) map[string]any {
	var params []any
	for _, p := range op.params {
		m := map[string]any{"name": p.name, "in": p.in, "type": p.typ, "description": p.desc}
		if p.in == "path" {
			m["required"] = true
		}
		params = append(params, m)
	}
	consumes := []string{"*/*"}
	if op.consumes != nil {
		consumes = op.consumes
		params = append(params, map[string]any{"name": "body", "in": "body", "required": true, "schema": map[string]any{"type": "object"}})
	}
	return map[string]any{
		"operationId":                     op.id,
		"consumes":                        consumes,
		"produces":                        []string{"application/json"},
		"parameters":                      params,
		"responses":                       map[string]any{strconv.Itoa(op.code): map[string]any{"description": http.StatusText(op.code)}},
		"x-kubernetes-action":             op.action,
		"x-kubernetes-group-version-kind": gvkExtension(op.gvk),
	}
}

// v3Operation renders op as an OpenAPI 3.0 operation.
func v3Operation(op oaOp) map[string]any {
	var params []any
	for _, p := range op.params {
		m := map[string]any{"name": p.name, "in": p.in, "description": p.desc, "schema": map[string]any{"type": p.typ}}
		if p.in == "path" {
			m["required"] = true
		}
		params = append(params, m)
	}
	object := map[string]any{"schema": map[string]any{"type": "object"}}
	out := map[string]any{
		"operationId":                     op.id,
		"parameters":                      params,
		"responses":                       map[string]any{strconv.Itoa(op.code): map[string]any{"description": http.StatusText(op.code), "content": map[string]any{"application/json": object}}},
		"x-kubernetes-action":             op.action,
		"x-kubernetes-group-version-kind": gvkExtension(op.gvk),
	}
	if op.consumes != nil {
		content := map[string]any{}
		for _, mt := range op.consumes {
			content[mt] = object
		}
		out["requestBody"] = map[string]any{"content": content, "required": true}
	}
	return out
}

func renderPaths(paths []oaPath, render func(oaOp) map[string]any) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		item := map[string]any{}
		for _, op := range p.ops {
			item[op.method] = render(op)
		}
		out[p.path] = item
	}
	return out
}

// buildOpenAPI renders the documents. JSON maps marshal with sorted keys,
// so a document and its hash are the same for every build of the same
// resources.
func buildOpenAPI() (openAPIDocs, error) {
	info := map[string]any{"title": "Skiff", "version": "v1"}
	byGV := openAPIPaths()
	all := map[string]any{}
	docs := openAPIDocs{v3: map[string][]byte{}, v3Hash: map[string]string{}}
	type rootEntry struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}
	root := struct {
		Paths map[string]rootEntry `json:"paths"`
	}{Paths: map[string]rootEntry{}}
	for gvPath, paths := range byGV {
		for k, v := range renderPaths(paths, v2Operation) {
			all[k] = v
		}
		// An empty components object, not none: kubectl's OpenAPI v3
		// patch code warns on every apply when components are missing,
		// and falls back quietly when they hold no schema for the kind.
		b, err := json.Marshal(map[string]any{"openapi": "3.0.0", "info": info, "paths": renderPaths(paths, v3Operation), "components": map[string]any{}})
		if err != nil {
			return docs, fmt.Errorf("openapi v3 %s: %w", gvPath, err)
		}
		sum := sha512.Sum512(b)
		hash := fmt.Sprintf("%X", sum[:])
		docs.v3[gvPath], docs.v3Hash[gvPath] = b, hash
		root.Paths[gvPath] = rootEntry{ServerRelativeURL: "/openapi/v3/" + gvPath + "?hash=" + hash}
	}
	var err error
	if docs.v3Root, err = json.Marshal(root); err != nil {
		return docs, fmt.Errorf("openapi v3 index: %w", err)
	}
	if docs.v2JSON, err = json.Marshal(map[string]any{"swagger": "2.0", "info": info, "paths": all}); err != nil {
		return docs, fmt.Errorf("openapi v2: %w", err)
	}
	doc, err := openapi_v2.ParseDocument(docs.v2JSON)
	if err != nil {
		return docs, fmt.Errorf("openapi v2: %w", err)
	}
	if docs.v2Proto, err = proto.Marshal(doc); err != nil {
		return docs, fmt.Errorf("openapi v2 protobuf: %w", err)
	}
	return docs, nil
}
