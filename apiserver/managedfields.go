package apiserver

import (
	"fmt"
	"strings"
	"sync"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Server-side apply and metadata.managedFields come from the machinery
// kube-apiserver itself uses (apimachinery's managedfields over
// structured-merge-diff), fed the built-in type schemas client-go ships in
// applyconfigurations. Merge semantics (list map keys, atomic structs,
// ownership, conflicts) are defined by those schemas; a hand-written merge
// would drift from kubectl's expectations at the first list of containers.

// fieldManagers holds one managedfields.FieldManager per kind and
// subresource, built on first use: the type converter parses client-go's
// schema once (about 100 ms), which servers that never see a write skip.
type fieldManagers struct {
	converter func() (managedfields.TypeConverter, error)

	mu sync.Mutex
	m  map[fieldManagerKey]*managedfields.FieldManager
}

type fieldManagerKey struct {
	gvk         schema.GroupVersionKind
	subresource string
}

func newFieldManagers() *fieldManagers {
	return &fieldManagers{
		converter: sync.OnceValues(func() (managedfields.TypeConverter, error) {
			return applyconfigurations.NewTypeConverter(scheme), nil
		}),
		m: map[fieldManagerKey]*managedfields.FieldManager{},
	}
}

// get returns the field manager of res's kind for subresource ("",
// "status" or "scale").
func (f *fieldManagers) get(res *Resource, subresource string) (*managedfields.FieldManager, error) {
	k := fieldManagerKey{gvk: res.GVK(), subresource: subresource}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fm, ok := f.m[k]; ok {
		return fm, nil
	}
	tc, err := f.converter()
	if err != nil {
		return nil, err
	}
	fm, err := managedfields.NewDefaultFieldManager(tc, scheme, scheme, scheme, k.gvk, k.gvk.GroupVersion(), subresource, resetFields(res, subresource))
	if err != nil {
		return nil, fmt.Errorf("field manager for %s: %w", k.gvk, err)
	}
	f.m[k] = fm
	return fm, nil
}

// resetFields are the fields an apply through an endpoint may not set,
// as Kubernetes' strategies declare them: the status on the main
// resource, everything but the status on the status subresource.
func resetFields(res *Resource, subresource string) map[fieldpath.APIVersion]fieldpath.Filter {
	if !res.Status {
		return nil
	}
	var set *fieldpath.Set
	switch subresource {
	case "":
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	case "status":
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata"))
	default:
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(res.GVR.GroupVersion().String()): fieldpath.NewExcludeSetFilter(set),
	}
}

// beforeFirstApply is the manager apimachinery's field manager records
// an object's existing fields under when it is first applied.
const beforeFirstApply = "before-first-apply"

// maxFieldManagerLength is Kubernetes' limit on a fieldManager's length.
const maxFieldManagerLength = 128

// manager returns the field manager the request writes as: its
// fieldManager parameter, or else the User-Agent's product name
// ("kubectl" of "kubectl/v1.32.0 (linux/amd64) ..."), as Kubernetes does.
func (h *handler) manager() (string, error) {
	name := h.r.URL.Query().Get("fieldManager")
	if name == "" {
		name, _, _ = strings.Cut(h.r.UserAgent(), "/")
		if len(name) > maxFieldManagerLength {
			name = name[:maxFieldManagerLength]
		}
		return name, nil
	}
	if len(name) > maxFieldManagerLength {
		return "", h.invalidOption("fieldManager", name, fmt.Sprintf("must be no more than %d characters", maxFieldManagerLength))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", h.invalidOption("fieldManager", name, "invalid characters")
		}
	}
	return name, nil
}

// invalidOption is the 422 Kubernetes answers for a bad option of a
// write (PatchOptions, UpdateOptions, CreateOptions).
func (h *handler) invalidOption(name string, value any, detail string) error {
	kind := map[string]string{"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}[h.ri.Verb]
	if kind == "" {
		kind = "PatchOptions"
	}
	errs := field.ErrorList{field.Invalid(field.NewPath(name), value, detail)}
	if value == nil {
		errs = field.ErrorList{field.Required(field.NewPath(name), detail)}
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: kind}, "", errs)
}

// trackUpdate records in next's managedFields what a create, update or
// non-apply patch from the request's manager changed relative to live
// (an empty object for a create). A failure keeps live's managedFields,
// as Kubernetes does: bookkeeping never fails a write.
func (h *handler) trackUpdate(live, next runtime.Object) (runtime.Object, error) {
	if h.ri.Subresource == "binding" {
		// Kubernetes records no manager for a binding.
		return next, nil
	}
	manager, err := h.manager()
	if err != nil {
		return nil, err
	}
	return h.trackUpdateAs(live, next, manager)
}

// trackUpdateAs is trackUpdate as the given manager.
func (h *handler) trackUpdateAs(live, next runtime.Object, manager string) (runtime.Object, error) {
	fm, err := h.api.fields.get(h.res, h.fieldSubresource())
	if err != nil {
		return nil, err
	}
	setTypeMeta(live)
	setTypeMeta(next)
	return fm.UpdateNoErrors(live, next, manager), nil
}

// fieldSubresource is the subresource managedFields entries of this
// request record.
func (h *handler) fieldSubresource() string {
	if h.scale {
		return "scale"
	}
	return h.ri.Subresource
}
