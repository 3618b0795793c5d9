package validation

import (
	"maps"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file holds the cluster-scoped kinds: namespaces and nodes.

func validateNamespaceCreate(n *corev1.Namespace) field.ErrorList {
	errs := validateMeta(&n.ObjectMeta, false, nameIsDNSLabel)
	return append(errs, validateNamespaceFinalizers(n.Spec.Finalizers)...)
}

func validateNamespaceUpdate(n, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateNamespaceFinalizers(n.Spec.Finalizers)...)
}

func validateNamespaceFinalizers(fs []corev1.FinalizerName) field.ErrorList {
	var errs field.ErrorList
	p := specPath.Child("finalizers")
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(names[i], p.Index(i))...)
	}
	return append(errs, validateKubeFinalizers(names, p)...)
}

// validateNamespaceStatusUpdate ties the phase to the deletion timestamp.
func validateNamespaceStatusUpdate(n, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	p := statusPath.Child("phase")
	if n.DeletionTimestamp.IsZero() {
		if n.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(p, n.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if n.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(p, n.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

func validateNodeCreate(n *corev1.Node) field.ErrorList {
	errs := validateMeta(&n.ObjectMeta, false, nameIsDNSSubdomain)
	errs = append(errs, validateNodeSpec(&n.Spec)...)
	return append(errs, validateNodeStatus(&n.Status)...)
}

// validateNodeUpdate lets the control plane set podCIDRs and providerID
// once; taints and unschedulable may change freely.
func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateNodeSpec(&n.Spec)...)
	errs = append(errs, validateNodeStatus(&n.Status)...)
	if len(old.Spec.PodCIDRs) > 0 && !slices.Equal(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(specPath.Child("externalID"), "may not be updated"))
	}
	return errs
}

func validateNodeStatusUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateNodeStatus(&n.Status)...)
}

func validateNodeSpec(spec *corev1.NodeSpec) field.ErrorList {
	errs := validateTaints(spec.Taints, specPath.Child("taints"))
	p := specPath.Child("podCIDRs")
	families := map[bool]int{}
	seen := map[string]bool{}
	for i, cidr := range spec.PodCIDRs {
		if cErrs := validation.IsValidCIDRForLegacyField(p.Index(i), cidr, true, nil); len(cErrs) > 0 {
			errs = append(errs, cErrs...)
			continue
		}
		if seen[cidr] {
			errs = append(errs, field.Duplicate(p.Index(i), cidr))
		}
		seen[cidr] = true
		if pfx, err := netip.ParsePrefix(cidr); err == nil {
			families[pfx.Addr().Is4()]++
		}
	}
	if families[true] > 1 || families[false] > 1 {
		errs = append(errs, field.Invalid(p, spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	if spec.PodCIDR != "" && (len(spec.PodCIDRs) == 0 || spec.PodCIDRs[0] != spec.PodCIDR) {
		errs = append(errs, field.Invalid(specPath.Child("podCIDR"), spec.PodCIDR, "must match `podCIDRs[0]`"))
	}
	return errs
}

// validateNodeStatus checks resource quantities and that addresses are not
// listed twice.
func validateNodeStatus(st *corev1.NodeStatus) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"capacity", st.Capacity}, {"allocatable", st.Allocatable}} {
		for _, k := range slices.Sorted(maps.Keys(list.rl)) {
			errs = append(errs, validateNonnegativeQuantity(list.rl[k], statusPath.Child(list.name).Key(string(k)))...)
		}
	}
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range st.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(statusPath.Child("addresses").Index(i), a))
		}
		seen[a] = true
	}
	return errs
}
