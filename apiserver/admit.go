package apiserver

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Admission defaults and validates objects; package apiserver/validation
// provides Kubernetes' rules, wired in by the server.
type Admission struct {
	// Default fills in defaults in place.
	Default func(obj runtime.Object)
	// Validate checks a new object (old == nil) or an update.
	Validate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatus checks a status-subresource update.
	ValidateStatus func(obj, old runtime.Object) field.ErrorList
	// PrepareUpdate carries server-assigned fields a whole-object update
	// left out (a service's ClusterIP) over from old.
	PrepareUpdate func(obj, old runtime.Object)
	// PodSecurity checks a pod being created or updated against the Pod
	// Security level its namespace's labels select, and returns why the
	// pod is refused (nil if it is admitted); the handler answers 403
	// Forbidden with that message, as kube-apiserver does.
	PodSecurity func(nsLabels map[string]string, pod *corev1.Pod) error
}

// admit defaults and validates obj, a new object (old == nil) or an
// update of old, and returns a 422 Invalid status naming every bad field,
// or, for a valid pod its namespace's Pod Security level refuses, a 403
// Forbidden status.
func (h *handler) admit(obj, old runtime.Object) error {
	ad := h.api.admission
	if ad.Default != nil {
		ad.Default(obj)
	}
	var errs field.ErrorList
	if h.ri.Subresource == "status" {
		if ad.ValidateStatus != nil {
			errs = ad.ValidateStatus(obj, old)
		}
	} else if ad.Validate != nil {
		errs = ad.Validate(obj, old)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(h.res.GVK().GroupKind(), metaOf(obj).GetName(), errs)
	}
	// Like Kubernetes, Pod Security judges valid new pods and changed pod
	// specs: a metadata-only update (a finalizer removed, a label added)
	// of a pod admitted under an older, laxer level still goes through.
	// Kubernetes refuses with 403 Forbidden, not 422: the pod is valid,
	// its namespace's policy forbids it.
	if pod, ok := obj.(*corev1.Pod); ok && ad.PodSecurity != nil && h.ri.Subresource == "" {
		if oldPod, ok := old.(*corev1.Pod); !ok || !equality.Semantic.DeepEqual(oldPod.Spec, pod.Spec) {
			if err := ad.PodSecurity(h.namespaceLabels(pod.Namespace), pod); err != nil {
				return apierrors.NewForbidden(h.res.GVR.GroupResource(), pod.Name, err)
			}
		}
	}
	return nil
}

// namespaceLabels returns the labels of namespace ns from the local
// replica (nil if it does not exist; creation checks existence itself).
func (h *handler) namespaceLabels(ns string) map[string]string {
	res := lookup("", "v1", "namespaces")
	kv, ok, _ := h.api.store.Store().Get(res.Key("", ns))
	if !ok {
		return nil
	}
	obj, err := decodeStored(res, kv)
	if err != nil {
		return nil
	}
	return metaOf(obj).GetLabels()
}

func fieldRequired(path, msg string) field.ErrorList {
	return field.ErrorList{field.Required(field.NewPath(path), msg)}
}

// qosClass computes a pod's quality-of-service class from its containers'
// requests and limits, as Kubernetes does.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	any, guaranteed := false, true
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq || hasLim {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
