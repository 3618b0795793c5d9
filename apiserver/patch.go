package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// patch serves PATCH with JSON merge patch, JSON patch and strategic merge
// patch. The patch is applied to the current object and the result goes
// through the same checks as an update; a resourceVersion inside the patch
// is a precondition.
func (h *handler) patch() error {
	mt, _, err := mime.ParseMediaType(h.r.Header.Get("Content-Type"))
	if err != nil {
		return unsupportedMediaType(h.r.Header.Get("Content-Type"))
	}
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		if h.r.URL.Query().Has("force") {
			return h.invalidOption("force", h.r.URL.Query().Get("force"), "may not be specified for non-apply patch")
		}
	case types.ApplyYAMLPatchType:
		return h.apply()
	default:
		return unsupportedMediaType(mt)
	}
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	precondition := ""
	if pt != types.JSONPatchType {
		var m struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return apierrors.NewBadRequest("the patch is not valid JSON: " + err.Error())
		}
		precondition = m.Metadata.ResourceVersion
	} else if _, err := jsonpatch.DecodePatch(body); err != nil {
		return apierrors.NewBadRequest("invalid JSON patch: " + err.Error())
	}
	out, err := h.updateObject(precondition, func(cur runtime.Object) (runtime.Object, error) {
		patched, err := patchJSON(h.res, pt, cur, body)
		if err != nil {
			return nil, err
		}
		// The patched object is checked like a created or updated one:
		// fieldValidation=Strict refuses unknown fields the patch brought.
		out := h.res.New()
		info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
		if err := h.decode(info, patched, out); err != nil {
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, out)
	return nil
}

// applyPatch returns cur with the patch applied.
func applyPatch(res *Resource, pt types.PatchType, cur runtime.Object, patch []byte) (runtime.Object, error) {
	patched, err := patchJSON(res, pt, cur, patch)
	if err != nil {
		return nil, err
	}
	out := res.New()
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, apierrors.NewBadRequest("the patched object is not a valid " + res.Kind + ": " + err.Error())
	}
	return out, nil
}

// patchJSON returns the JSON of cur with the patch applied.
func patchJSON(res *Resource, pt types.PatchType, cur runtime.Object, patch []byte) (patched []byte, err error) {
	// The patch libraries panic on some malformed patches (strategicpatch
	// on a merge key that is a list): the patch is the client's error, not
	// a reason to drop the connection.
	defer func() {
		if r := recover(); r != nil {
			patched, err = nil, apierrors.NewBadRequest(patchFailure(res, fmt.Sprintf("the patch (%s) cannot be applied", pt), r))
		}
	}()
	orig, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest("invalid JSON patch: " + err.Error())
		}
		if err := checkJSONPatch(p); err != nil {
			return nil, err
		}
		if patched, err = p.Apply(orig); err != nil {
			return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnprocessableEntity, Reason: metav1.StatusReasonInvalid, Message: "the JSON patch does not apply: " + err.Error()}}
		}
	case types.MergePatchType:
		if patched, err = jsonpatch.MergePatch(orig, patch); err != nil {
			return nil, apierrors.NewBadRequest("invalid merge patch: " + err.Error())
		}
	case types.StrategicMergePatchType:
		if patched, err = strategicpatch.StrategicMergePatch(orig, patch, res.New()); err != nil {
			return nil, apierrors.NewBadRequest(patchFailure(res, "invalid strategic merge patch", err))
		}
	}
	return patched, nil
}

// checkJSONPatch refuses operations RFC 6902 requires a value for that have
// none: json-patch.v4 dereferences the missing value of a replace or test
// of the whole document (path "") and panics.
func checkJSONPatch(p jsonpatch.Patch) error {
	for i, op := range p {
		switch op.Kind() {
		case "add", "replace", "test":
			if _, ok := op["value"]; !ok {
				return apierrors.NewBadRequest(fmt.Sprintf("invalid JSON patch: operation %d (%s) has no value", i, op.Kind()))
			}
		}
	}
	return nil
}
