package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service accounts are served so that kubectl finds the "default" account
// every namespace has; Skiff mounts no tokens yet, so only the metadata and
// the names of the referenced secrets are checked.

func validateServiceAccountCreate(sa *corev1.ServiceAccount) field.ErrorList {
	return append(validateMeta(&sa.ObjectMeta, true, nameIsDNSSubdomain), validateServiceAccountRefs(sa)...)
}

func validateServiceAccountUpdate(sa, old *corev1.ServiceAccount) field.ErrorList {
	return append(validateMetaUpdate(&sa.ObjectMeta, &old.ObjectMeta), validateServiceAccountRefs(sa)...)
}

func validateServiceAccountRefs(sa *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sa.Secrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("secrets").Index(i).Child("name"), ""))
		}
	}
	for i, s := range sa.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}
