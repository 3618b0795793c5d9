package validation

import (
	"errors"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Default fills in defaults the way Kubernetes does for the supported
// fields, in place. obj is a pointer to one of the served k8s.io/api types;
// other types are left alone. Default is idempotent.
func Default(obj runtime.Object) {
	if isNilObject(obj) {
		return
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.ConfigMap:
		defaultConfigMap(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	}
}

// Validate checks obj for create (old == nil) or for an update of old (both
// the full object, old as stored). It returns field errors with
// Kubernetes-style paths and messages; an empty list means obj is valid.
// An unknown type, or old of another type than obj, yields an internal
// error rather than passing unchecked.
func Validate(obj, old runtime.Object) field.ErrorList {
	if isNilObject(obj) {
		return internal("no object to validate")
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return dispatch(o, old, validatePodCreate, validatePodUpdate)
	case *corev1.Service:
		return dispatch(o, old, validateServiceCreate, validateServiceUpdate)
	case *corev1.Namespace:
		return dispatch(o, old, validateNamespaceCreate, validateNamespaceUpdate)
	case *corev1.Node:
		return dispatch(o, old, validateNodeCreate, validateNodeUpdate)
	case *corev1.ConfigMap:
		return dispatch(o, old, validateConfigMapCreate, validateConfigMapUpdate)
	case *corev1.Secret:
		return dispatch(o, old, validateSecretCreate, validateSecretUpdate)
	case *corev1.ServiceAccount:
		return dispatch(o, old, validateServiceAccountCreate, validateServiceAccountUpdate)
	case *corev1.Endpoints:
		return dispatch(o, old, validateEndpointsCreate, validateEndpointsUpdate)
	case *corev1.Event:
		return dispatch(o, old, validateEventCreate, validateEventUpdate)
	case *discoveryv1.EndpointSlice:
		return dispatch(o, old, validateEndpointSliceCreate, validateEndpointSliceUpdate)
	case *appsv1.Deployment:
		return dispatch(o, old, validateDeploymentCreate, validateDeploymentUpdate)
	case *appsv1.ReplicaSet:
		return dispatch(o, old, validateReplicaSetCreate, validateReplicaSetUpdate)
	case *coordinationv1.Lease:
		return dispatch(o, old, validateLeaseCreate, validateLeaseUpdate)
	}
	return internal(fmt.Sprintf("no validation for %T", obj))
}

// ValidateStatus checks a status-subresource update of old to obj (both
// the full object). The caller is expected to have kept everything but the
// status (and, as Kubernetes does, the metadata) as stored; ValidateStatus
// checks the metadata update and the new status.
func ValidateStatus(obj, old runtime.Object) field.ErrorList {
	if isNilObject(obj) {
		return internal("no object to validate")
	}
	if isNilObject(old) {
		return internal("a status update needs the stored object")
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return dispatchStatus(o, old, validatePodStatusUpdate)
	case *corev1.Service:
		return dispatchStatus(o, old, validateServiceStatusUpdate)
	case *corev1.Namespace:
		return dispatchStatus(o, old, validateNamespaceStatusUpdate)
	case *corev1.Node:
		return dispatchStatus(o, old, validateNodeStatusUpdate)
	case *appsv1.Deployment:
		return dispatchStatus(o, old, validateDeploymentStatusUpdate)
	case *appsv1.ReplicaSet:
		return dispatchStatus(o, old, validateReplicaSetStatusUpdate)
	}
	return internal(fmt.Sprintf("%T has no status subresource", obj))
}

// dispatch runs create when old is absent and update otherwise.
func dispatch[T runtime.Object](obj T, old runtime.Object, create func(T) field.ErrorList, update func(T, T) field.ErrorList) field.ErrorList {
	if isNilObject(old) {
		return create(obj)
	}
	o, ok := old.(T)
	if !ok {
		return internal(fmt.Sprintf("old object is %T, not %T", old, obj))
	}
	return update(obj, o)
}

func dispatchStatus[T runtime.Object](obj T, old runtime.Object, status func(T, T) field.ErrorList) field.ErrorList {
	o, ok := old.(T)
	if !ok {
		return internal(fmt.Sprintf("old object is %T, not %T", old, obj))
	}
	return status(obj, o)
}

// isNilObject reports whether obj is nil or a typed nil pointer.
func isNilObject(obj runtime.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func internal(msg string) field.ErrorList {
	return field.ErrorList{field.InternalError(field.NewPath(""), errors.New(msg))}
}
