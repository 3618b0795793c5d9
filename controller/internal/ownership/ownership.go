package ownership

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Action is what a controller does with one candidate object.
type Action int

const (
	// Ignore: the object is not the controller's and must not become so.
	Ignore Action = iota
	// Keep: the object is the controller's and stays so.
	Keep
	// Adopt: an orphan the selector matches; the controller claims it.
	Adopt
	// Release: the controller's object the selector no longer matches.
	Release
)

func (a Action) String() string {
	return [...]string{"Ignore", "Keep", "Adopt", "Release"}[a]
}

// Decide returns what owner (being deleted or not) does with obj given its
// selector. A controller being deleted neither adopts nor releases, so its
// dependents stay where the garbage collector expects them.
func Decide(owner metav1.Object, sel labels.Selector, obj metav1.Object) Action {
	ref := metav1.GetControllerOfNoCopy(obj)
	deleting := owner.GetDeletionTimestamp() != nil
	matches := sel.Matches(labels.Set(obj.GetLabels()))
	switch {
	case ref != nil && ref.UID != owner.GetUID():
		return Ignore
	case ref != nil && matches:
		return Keep
	case ref != nil && deleting:
		return Keep
	case ref != nil:
		return Release
	case matches && !deleting && obj.GetDeletionTimestamp() == nil:
		return Adopt
	}
	return Ignore
}

// Owns reports whether obj is controlled by owner.
func Owns(owner, obj metav1.Object) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == owner.GetUID()
}

// Ref returns the controller reference an owner of kind gvk puts on what it
// creates or adopts: controller and blockOwnerDeletion true.
func Ref(owner metav1.Object, gvk schema.GroupVersionKind) metav1.OwnerReference {
	return *metav1.NewControllerRef(owner, gvk)
}

// metaPatch is a JSON merge patch of metadata with optimistic concurrency:
// the uid and resourceVersion make the apiserver refuse it if obj changed.
type metaPatch struct {
	Metadata struct {
		UID             string                  `json:"uid"`
		ResourceVersion string                  `json:"resourceVersion"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
	} `json:"metadata"`
}

// AdoptPatch returns a merge patch adding owner's controller reference to obj.
func AdoptPatch(owner metav1.Object, gvk schema.GroupVersionKind, obj metav1.Object) ([]byte, error) {
	refs := append(append([]metav1.OwnerReference{}, obj.GetOwnerReferences()...), Ref(owner, gvk))
	return refsPatch(obj, refs)
}

// ReleasePatch returns a merge patch removing owner's references from obj.
func ReleasePatch(owner, obj metav1.Object) ([]byte, error) {
	return WithoutOwnerPatch(obj, string(owner.GetUID()))
}

// WithoutOwnerPatch returns a merge patch removing every reference to the
// owner with uid from obj.
func WithoutOwnerPatch(obj metav1.Object, uid string) ([]byte, error) {
	refs := []metav1.OwnerReference{}
	for _, r := range obj.GetOwnerReferences() {
		if string(r.UID) != uid {
			refs = append(refs, r)
		}
	}
	return refsPatch(obj, refs)
}

func refsPatch(obj metav1.Object, refs []metav1.OwnerReference) ([]byte, error) {
	var p metaPatch
	p.Metadata.UID = string(obj.GetUID())
	p.Metadata.ResourceVersion = obj.GetResourceVersion()
	p.Metadata.OwnerReferences = refs
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode owner patch of %s: %w", obj.GetName(), err)
	}
	return b, nil
}
