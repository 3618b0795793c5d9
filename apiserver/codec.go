package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxBodySize caps request bodies, like kube-apiserver's 3 MiB.
const MaxBodySize = 3 << 20

// readBody reads the request body, refusing bodies over MaxBodySize with
// 413 before reading them whole.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodySize {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", MaxBodySize))
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return nil, apierrors.NewBadRequest("read request body: " + err.Error())
	}
	if len(b) > MaxBodySize {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", MaxBodySize))
	}
	return b, nil
}

// decodeObject decodes a request body of the given content type into a
// new object of the resource's kind. fieldValidation follows Kubernetes:
// Strict refuses unknown and duplicate fields, Ignore and Warn (the
// default) accept them, Warn with a Warning header.
func (h *handler) decodeObject(body []byte, into runtime.Object) error {
	mediaType := "application/json"
	if ct := h.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return unsupportedMediaType(ct)
		}
		mediaType = mt
	}
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		return unsupportedMediaType(mediaType)
	}
	return h.decode(info, body, into)
}

// decode decodes body with the serializer of info into into, a new
// object of the resource's kind, with the request's fieldValidation.
func (h *handler) decode(info runtime.SerializerInfo, body []byte, into runtime.Object) error {
	if err := h.checkSensitiveYAML(info, body); err != nil {
		return err
	}
	strict := info.StrictSerializer
	if strict == nil {
		strict = info.Serializer
	}
	want := h.res.GVK()
	obj, gvk, err := strict.Decode(body, &want, into)
	if err != nil && runtime.IsStrictDecodingError(err) {
		switch h.r.URL.Query().Get("fieldValidation") {
		case "Strict":
			return apierrors.NewBadRequest(err.Error())
		case "Ignore":
		default:
			// A patch may be applied again after losing a race: warn once.
			if warning := fmt.Sprintf("299 - %q", err.Error()); !slices.Contains(h.w.Header().Values("Warning"), warning) {
				h.w.Header().Add("Warning", warning)
			}
		}
		err = nil
	}
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", want.Kind, err))
	}
	if obj != into {
		return apierrors.NewBadRequest(fmt.Sprintf("expected a %s, got %T", want.Kind, obj))
	}
	if gvk != nil && (gvk.Kind != want.Kind || gvk.GroupVersion() != want.GroupVersion()) {
		return apierrors.NewBadRequest(fmt.Sprintf("the body is a %s, not a %s", gvk, want))
	}
	return nil
}

// writeObject writes obj as JSON. Skiff answers JSON to every Accept
// header, protobuf included: clients that ask for protobuf first accept
// JSON (client-go reads the response's Content-Type).
func (a *API) writeObject(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object) {
	obj = asRequested(r, obj)
	setTypeMeta(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		a.log.Error("encode response", "error", err)
		code, b = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"encode response","reason":"InternalError","code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(b)
		w.Write([]byte("\n"))
	}
}

// writeJSON writes an already encoded object.
func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(b)
		w.Write([]byte("\n"))
	}
}

// metadataOpen is how every stored object's metadata starts: encodeStored
// writes kind and apiVersion, then metadata, which always holds a name.
var metadataOpen = []byte(`"metadata":{`)

// withResourceVersion returns a stored encoding (which has no
// resourceVersion) with metadata.resourceVersion set to rev.
func withResourceVersion(stored []byte, rev uint64) []byte {
	i := bytes.Index(stored, metadataOpen)
	if i < 0 {
		return stored
	}
	i += len(metadataOpen)
	field := `"resourceVersion":"` + strconv.FormatUint(rev, 10) + `"`
	if i < len(stored) && stored[i] != '}' {
		field += ","
	}
	out := make([]byte, 0, len(stored)+len(field))
	out = append(out, stored[:i]...)
	out = append(out, field...)
	return append(out, stored[i:]...)
}

// setTypeMeta fills apiVersion and kind from the scheme.
func setTypeMeta(obj runtime.Object) {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
}

// acceptsTable reports whether the client asked for a metav1.Table
// (kubectl get does).
func acceptsTable(r *http.Request) bool { return acceptsAs(r, "Table") }

// acceptsAs reports whether the request's Accept header asks for JSON
// as the meta.k8s.io kind as (Table, PartialObjectMetadata,
// PartialObjectMetadataList), version v1 or v1beta1. Skiff serves these
// conversions whenever they are listed, whatever else the client would
// also accept (client-go's metadata client lists plain JSON last, as a
// fallback).
func acceptsAs(r *http.Request, as string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" {
			continue
		}
		if params["as"] == as && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
			return true
		}
	}
	return false
}

// asRequested converts a response object to the metadata-only form the
// client asked for, if it did: an object to a PartialObjectMetadata, a
// list to a PartialObjectMetadataList. Status objects stay as they are.
func asRequested(r *http.Request, obj runtime.Object) runtime.Object {
	if _, ok := obj.(*metav1.Status); ok || !strings.Contains(r.Header.Get("Accept"), "PartialObjectMetadata") {
		return obj
	}
	if meta.IsListType(obj) {
		if !acceptsAs(r, "PartialObjectMetadataList") {
			return obj
		}
		items, err := meta.ExtractList(obj)
		lm, lerr := meta.ListAccessor(obj)
		if err != nil || lerr != nil {
			return obj
		}
		out := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"},
			ListMeta: metav1.ListMeta{ResourceVersion: lm.GetResourceVersion(), Continue: lm.GetContinue(), RemainingItemCount: lm.GetRemainingItemCount()}}
		out.Items = make([]metav1.PartialObjectMetadata, len(items))
		for i, it := range items {
			out.Items[i] = *partialMetadata(it)
		}
		return out
	}
	if !acceptsAs(r, "PartialObjectMetadata") {
		return obj
	}
	if _, ok := obj.(metav1.ObjectMetaAccessor); !ok {
		return obj
	}
	return partialMetadata(obj)
}

// unsupportedMediaType is a 415 status.
func unsupportedMediaType(mt string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format: %s", mt),
	}}
}
