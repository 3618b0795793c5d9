package validation

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxHolderIdentityLength bounds a lease holder's identity; Kubernetes sets
// no limit, Skiff keeps identities to a sensible size.
const maxHolderIdentityLength = 1024

func validateLeaseCreate(l *coordinationv1.Lease) field.ErrorList {
	errs := validateMeta(&l.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateLeaseSpec(&l.Spec)...)
}

func validateLeaseUpdate(l, old *coordinationv1.Lease) field.ErrorList {
	errs := validateMetaUpdate(&l.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateLeaseSpec(&l.Spec)...)
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec) field.ErrorList {
	var errs field.ErrorList
	if h := spec.HolderIdentity; h != nil && len(*h) > maxHolderIdentityLength {
		errs = append(errs, field.TooLong(specPath.Child("holderIdentity"), *h, maxHolderIdentityLength))
	}
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if s := spec.Strategy; s != nil {
		p := specPath.Child("strategy")
		if *s != coordinationv1.OldestEmulationVersion {
			if len(validation.IsQualifiedName(string(*s))) > 0 || !strings.Contains(string(*s), "/") {
				errs = append(errs, field.NotSupported(p, *s, []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}))
			}
		}
	}
	if ph := spec.PreferredHolder; ph != nil && *ph != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(specPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}
