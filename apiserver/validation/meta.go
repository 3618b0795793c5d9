package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nameFunc checks an object name (prefix: a generateName prefix) and
// returns what is wrong with it.
type nameFunc = apimachineryvalidation.ValidateNameFunc

// Name rules per kind, as in Kubernetes: services are DNS-1035 labels,
// namespaces DNS-1123 labels, everything else DNS-1123 subdomains.
var (
	nameIsDNSSubdomain nameFunc = apimachineryvalidation.NameIsDNSSubdomain
	nameIsDNSLabel     nameFunc = apimachineryvalidation.NameIsDNSLabel
	nameIsDNS1035Label nameFunc = apimachineryvalidation.NameIsDNS1035Label
)

var metadataPath = field.NewPath("metadata")

// standardFinalizers are the finalizer names Kubernetes accepts without a
// domain prefix.
var standardFinalizers = map[string]bool{
	string(corev1.FinalizerKubernetes): true,
	metav1.FinalizerOrphanDependents:   true,
	metav1.FinalizerDeleteDependents:   true,
}

// validateMeta checks the metadata of a new object: name (present, as the
// caller generates names before validating), namespace, labels,
// annotations (256 KiB in total), owner references and finalizers.
func validateMeta(m *metav1.ObjectMeta, namespaced bool, nameFn nameFunc) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(m, namespaced, nameFn, metadataPath)
	return append(errs, validateKubeFinalizers(m.Finalizers, metadataPath.Child("finalizers"))...)
}

// validateMetaUpdate checks the metadata of an update: name, namespace,
// uid, creationTimestamp and the deletion fields are immutable, labels and
// annotations must stay valid, and a terminating object takes no new
// finalizers.
func validateMetaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(m, old, metadataPath)
	fp := metadataPath.Child("finalizers")
	errs = append(errs, apimachineryvalidation.ValidateFinalizers(m.Finalizers, fp)...)
	return append(errs, validateKubeFinalizers(m.Finalizers, fp)...)
}

// validateKubeFinalizers requires finalizers without a domain to be one of
// Kubernetes' standard names.
func validateKubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		if !strings.Contains(f, "/") && !standardFinalizers[f] {
			errs = append(errs, field.Invalid(fldPath.Index(i), f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}
