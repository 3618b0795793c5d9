package apiserver

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// create serves POST on a collection.
func (h *handler) create() error {
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	obj := h.res.New()
	if err := h.decodeObject(body, obj); err != nil {
		return err
	}
	return h.createObject(obj)
}

// createObject creates obj, a decoded request object, and answers 201
// with the stored object.
func (h *handler) createObject(obj runtime.Object) error {
	m := metaOf(obj)
	if err := h.checkNamespace(m); err != nil {
		return err
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	if m.GetName() == "" && !generated {
		return apierrors.NewInvalid(h.res.GVK().GroupKind(), "", fieldRequired("metadata.name", "name or generateName is required"))
	}
	named := h.ri
	named.Name = m.GetName()
	if err := h.api.check(h.r, named, obj); err != nil {
		return err
	}
	h.prepareForCreate(obj)
	svc, _ := obj.(*corev1.Service)
	var template *corev1.Service
	var drawn map[string]bool
	if svc != nil {
		template = svc.DeepCopy()
	}
	for attempt := 0; ; attempt++ {
		if generated {
			m.SetName(m.GetGenerateName() + randomSuffix(5))
		}
		if svc != nil {
			// Each attempt draws fresh addresses for what the client left empty.
			template.Spec.DeepCopyInto(&svc.Spec)
			var err error
			if drawn, err = h.api.allocate(svc, nil); err != nil {
				return err
			}
		}
		if err := h.admit(obj, nil); err != nil {
			return err
		}
		switch {
		case !h.applying:
			// Like Kubernetes, the creator owns every field it set,
			// defaults included.
			tracked, err := h.trackUpdate(h.res.New(), obj)
			if err != nil {
				return err
			}
			obj = tracked
			m = metaOf(obj)
		case len(m.GetManagedFields()) == 0:
			// An apply that set nothing but the name (a bare Namespace)
			// leaves no managedFields; the field manager would then
			// record the server's defaults under "before-first-apply" at
			// the next apply, making an identical apply a write. Record
			// them now, as that apply would.
			tracked, err := h.trackUpdateAs(h.res.New(), obj, beforeFirstApply)
			if err != nil {
				return err
			}
			obj = tracked
			m = metaOf(obj)
		}
		if err := h.namespaceAccepts(m.GetNamespace()); err != nil {
			return err
		}
		if isDryRun(h.r) {
			h.api.writeObject(h.w, h.r, http.StatusCreated, obj)
			return nil
		}
		value, err := encodeStored(obj)
		if err != nil {
			return err
		}
		res, err := h.propose(createCommand(h.res.Key(m.GetNamespace(), m.GetName()), value, obj), m.GetName())
		if apierrors.IsAlreadyExists(err) && res.FailedIndex > 0 && svc != nil {
			// An allocation clashed with another service's: a draw is
			// drawn again, a choice of the client's is refused.
			retry, err := allocationClash(res, svc, drawn)
			if retry && attempt < 16 {
				continue
			}
			return err
		}
		if apierrors.IsAlreadyExists(err) && generated && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		// The answer is the stored encoding with its resourceVersion:
		// no second encoding of the object.
		h.api.writeJSON(h.w, h.r, http.StatusCreated, withResourceVersion(value, res.Rev))
		return nil
	}
}

// checkNamespace reconciles the object's namespace with the URL's.
func (h *handler) checkNamespace(m metav1.Object) error {
	if !h.res.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch {
	case h.ri.Namespace == "":
		return apierrors.NewBadRequest("the request must name a namespace: /namespaces/<namespace>/" + h.res.GVR.Resource)
	case m.GetNamespace() == "":
		m.SetNamespace(h.ri.Namespace)
	case m.GetNamespace() != h.ri.Namespace:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// namespaceAccepts refuses new objects in a namespace that does not exist
// or is being deleted, like Kubernetes' NamespaceLifecycle admission.
func (h *handler) namespaceAccepts(ns string) error {
	if !h.res.Namespaced {
		return nil
	}
	nsRes := lookup("", "v1", "namespaces")
	kv, ok, _ := h.api.store.Store().Get(nsRes.Key("", ns))
	if !ok {
		// The replica may lag behind a namespace just created elsewhere.
		if err := h.readRev(""); err != nil {
			return err
		}
		kv, ok, _ = h.api.store.Store().Get(nsRes.Key("", ns))
	}
	if !ok {
		return apierrors.NewNotFound(nsRes.GVR.GroupResource(), ns)
	}
	// Only the deletion timestamp matters: decode nothing else.
	var nsMeta struct {
		Metadata struct {
			DeletionTimestamp *metav1.Time `json:"deletionTimestamp"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(kv.Value, &nsMeta); err != nil {
		return fmt.Errorf("stored namespace %s is corrupt: %w", ns, err)
	}
	if nsMeta.Metadata.DeletionTimestamp != nil {
		// The cause lets controllers tell this refusal from a real
		// failure, as with Kubernetes.
		err := apierrors.NewForbidden(h.res.GVR.GroupResource(), "", fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace"})
		return err
	}
	return nil
}

// prepareForCreate sets what the server owns on a new object.
func (h *handler) prepareForCreate(obj runtime.Object) {
	m := metaOf(obj)
	m.SetUID(types.UID(newUID()))
	m.SetCreationTimestamp(metav1.NewTime(h.api.now().UTC().Truncate(1e9)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetGeneration(0)
	if h.res.HasSpec {
		m.SetGeneration(1)
	}
	resetStatusOnCreate(obj)
}

// resetStatusOnCreate clears status that clients may not set at creation.
func resetStatusOnCreate(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&o.Spec)}
	case *corev1.Namespace:
		o.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	case *corev1.Service:
		o.Status = corev1.ServiceStatus{}
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.ReplicaSet:
		o.Status = appsv1.ReplicaSetStatus{}
	}
}

func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == "All" {
			return true
		}
	}
	return false
}

// randomSuffix returns n characters from the alphabet Kubernetes uses for
// generateName (no vowels, no easily confused characters).
func randomSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newUID returns a random (version 4) UUID.
func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
