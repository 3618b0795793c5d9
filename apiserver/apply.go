package apiserver

import (
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// apply serves a server-side apply: PATCH with Content-Type
// application/apply-patch+yaml. The body is the applier's whole intent
// for the fields it manages; the field manager merges it into the live
// object (or an empty one: apply creates), records ownership in
// metadata.managedFields, and refuses with 409 to take a field another
// manager owns unless force=true. The result is checked and stored like
// any update; an apply that changes nothing writes nothing.
func (h *handler) apply() error {
	q := h.r.URL.Query()
	if q.Get("fieldManager") == "" {
		return h.invalidOption("fieldManager", nil, "is required for apply patch")
	}
	manager, err := h.manager()
	if err != nil {
		return err
	}
	force := false
	if v := q.Get("force"); v != "" {
		if force, err = strconv.ParseBool(v); err != nil {
			return h.invalidOption("force", v, "must be true or false")
		}
	}
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	patch, err := h.decodeApplyPatch(body)
	if err != nil {
		return err
	}
	fm, err := h.api.fields.get(h.res, h.fieldSubresource())
	if err != nil {
		return err
	}
	applyTo := func(live runtime.Object) (runtime.Object, error) {
		setTypeMeta(live)
		out, err := fm.Apply(live, patch.DeepCopyObject(), manager, force)
		if err != nil {
			if _, ok := err.(apierrors.APIStatus); ok {
				return nil, err
			}
			// The type converter names the offending field.
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return h.typed(out)
	}
	h.applying = true
	for attempt := 0; attempt < 2; attempt++ {
		out, err := h.updateObject(patch.GetResourceVersion(), applyTo)
		if !apierrors.IsNotFound(err) || h.ri.Subresource != "" {
			if err != nil {
				return err
			}
			h.api.writeObject(h.w, h.r, http.StatusOK, out)
			return nil
		}
		// Apply creates what does not exist, if the caller may create.
		if err := h.api.check(h.r, requestInfo{Verb: "create", Group: h.ri.Group, Version: h.ri.Version, Resource: h.ri.Resource, Namespace: h.ri.Namespace, Name: h.ri.Name}, nil); err != nil {
			return err
		}
		empty := h.res.New()
		m := metaOf(empty)
		m.SetName(h.ri.Name)
		if h.res.Namespaced {
			m.SetNamespace(h.ri.Namespace)
		}
		obj, err := applyTo(empty)
		if err != nil {
			return err
		}
		err = h.createObject(obj)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		// Another client created it meanwhile: apply to theirs.
	}
	return apierrors.NewConflict(h.res.GVR.GroupResource(), h.ri.Name, fmt.Errorf("the object was created and deleted while applying"))
}

// decodeApplyPatch parses an apply configuration: YAML or JSON naming
// the resource's apiVersion and kind and, if at all, the URL's name and
// namespace.
func (h *handler) decodeApplyPatch(body []byte) (*unstructured.Unstructured, error) {
	patch := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal(body, &patch.Object); err != nil {
		return nil, apierrors.NewBadRequest("error decoding YAML: " + err.Error())
	}
	if patch.Object == nil {
		return nil, apierrors.NewBadRequest("the apply patch is empty")
	}
	gvk := patch.GroupVersionKind()
	if want := h.res.GVK(); gvk.Kind != want.Kind || gvk.GroupVersion() != want.GroupVersion() {
		if gvk.Kind == "" || patch.GetAPIVersion() == "" {
			return nil, apierrors.NewBadRequest("the apply patch must set apiVersion and kind")
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the apply patch is a %s %s, not a %s %s", patch.GetAPIVersion(), gvk.Kind, want.GroupVersion(), want.Kind))
	}
	if n := patch.GetName(); n != "" && n != h.ri.Name {
		return nil, apierrors.NewBadRequest("the name of the object (" + n + ") does not match the name on the URL (" + h.ri.Name + ")")
	}
	patch.SetName(h.ri.Name)
	if err := h.checkNamespace(patch); err != nil {
		return nil, err
	}
	// Strict decoding of the same body reports unknown and duplicate
	// fields as fieldValidation asks, in the words of any other write.
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	if err := h.decode(info, body, h.res.New()); err != nil {
		return nil, err
	}
	return patch, nil
}

// typed returns obj as the resource's Go type (the field manager answers
// unstructured objects for some paths).
func (h *handler) typed(obj runtime.Object) (runtime.Object, error) {
	if _, ok := obj.(*unstructured.Unstructured); !ok {
		return obj, nil
	}
	out := h.res.New()
	if err := scheme.Convert(obj, out, nil); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the applied object is not a valid %s: %v", h.res.Kind, err))
	}
	return out, nil
}
