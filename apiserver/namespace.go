package apiserver

import (
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// This file holds what a namespace's deletion needs beyond metadata
// finalizers: spec.finalizers ("kubernetes") keep a deleted namespace in
// phase Terminating until the namespace controller has emptied it and
// removed its finalizer through the finalize subresource, as in
// Kubernetes.

// specFinalizersPending reports whether obj is a namespace whose
// spec.finalizers still hold its deletion back.
func specFinalizersPending(obj runtime.Object) bool {
	ns, ok := obj.(*corev1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

// markTerminating puts a namespace being deleted into phase Terminating;
// other objects are left alone.
func markTerminating(obj runtime.Object) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
}

// finalize serves PUT namespaces/{name}/finalize: it replaces only
// spec.finalizers. Removing the last finalizer of a namespace being
// deleted (with no metadata finalizers left) deletes it.
func (h *handler) finalize() error {
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	in := &corev1.Namespace{}
	if err := h.decodeObject(body, in); err != nil {
		return err
	}
	if in.Name != "" && in.Name != h.ri.Name {
		return apierrors.NewBadRequest("the name of the object (" + in.Name + ") does not match the name on the URL (" + h.ri.Name + ")")
	}
	out, err := h.updateObject(in.ResourceVersion, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace)
		ns.Spec.Finalizers = append([]corev1.FinalizerName{}, in.Spec.Finalizers...)
		return ns, nil
	})
	if err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, out)
	return nil
}
