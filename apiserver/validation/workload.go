package validation

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var statusPath = field.NewPath("status")

func validateDeploymentCreate(d *appsv1.Deployment) field.ErrorList {
	errs := validateMeta(&d.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateDeploymentSpec(&d.Spec)...)
}

// validateDeploymentUpdate keeps the selector, immutable in apps/v1.
func validateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateDeploymentSpec(&d.Spec)...)
	return append(errs, validateImmutable(d.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateDeploymentSpec(spec *appsv1.DeploymentSpec) field.ErrorList {
	var errs field.ErrorList
	if spec.Replicas != nil {
		errs = append(errs, validateNonnegative(int64(*spec.Replicas), specPath.Child("replicas"))...)
	}
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template)...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, validateNonnegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, validateNonnegative(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	if pd := spec.ProgressDeadlineSeconds; pd != nil {
		p := specPath.Child("progressDeadlineSeconds")
		errs = append(errs, validateNonnegative(int64(*pd), p)...)
		if *pd <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p, *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), s.Type, []appsv1.DeploymentStrategyType{
			appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	unavailable, surge := 0, 0
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		e, v := validateIntOrPercent(*ru.MaxUnavailable, p)
		errs = append(errs, e...)
		if ru.MaxUnavailable.Type == intstr.String && v > 100 {
			errs = append(errs, field.Invalid(p, ru.MaxUnavailable.StrVal, "must not be greater than 100%"))
		}
		unavailable = v
	}
	if ru.MaxSurge != nil {
		e, v := validateIntOrPercent(*ru.MaxSurge, fldPath.Child("maxSurge"))
		errs = append(errs, e...)
		surge = v
	}
	if ru.MaxUnavailable != nil && ru.MaxSurge != nil && unavailable == 0 && surge == 0 && len(errs) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

// validateIntOrPercent checks a non-negative count or percentage and
// returns its number.
func validateIntOrPercent(v intstr.IntOrString, fldPath *field.Path) (field.ErrorList, int) {
	if v.Type == intstr.String {
		if msgs := validation.IsValidPercent(v.StrVal); len(msgs) > 0 {
			return invalidEach(fldPath, v.StrVal, msgs), 0
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
		return nil, n
	}
	return validateNonnegative(int64(v.IntVal), fldPath), int(v.IntVal)
}

// validateSelectorAndTemplate checks a workload's selector (required,
// non-empty, valid) and its pod template, whose labels it must match.
func validateSelectorAndTemplate(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec) field.ErrorList {
	var errs field.ErrorList
	selPath := specPath.Child("selector")
	tPath := specPath.Child("template")
	selector := labels.Nothing()
	if sel == nil {
		errs = append(errs, field.Required(selPath, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, selPath)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(selPath, sel, "empty selector is invalid for deployment"))
		}
		if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(selPath, sel, "invalid label selector"))
		} else {
			selector = s
		}
	}
	lp := tPath.Child("metadata", "labels")
	if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(lp, t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, lp)...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, tPath.Child("metadata", "annotations"))...)
	sp := tPath.Child("spec")
	errs = append(errs, validatePodSpec(&t.Spec, false, sp)...)
	if t.Spec.RestartPolicy != "" && t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(sp.Child("restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(sp.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

func validateReplicaSetCreate(r *appsv1.ReplicaSet) field.ErrorList {
	errs := validateMeta(&r.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateReplicaSetSpec(&r.Spec)...)
}

func validateReplicaSetUpdate(r, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateReplicaSetSpec(&r.Spec)...)
	return append(errs, validateImmutable(r.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
}

func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec) field.ErrorList {
	var errs field.ErrorList
	if spec.Replicas != nil {
		errs = append(errs, validateNonnegative(int64(*spec.Replicas), specPath.Child("replicas"))...)
	}
	errs = append(errs, validateNonnegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	return append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template)...)
}

// replicaCount is one of the counters a workload status carries.
type replicaCount struct {
	name  string
	value int32
}

func validateReplicaCounts(counts []replicaCount, replicas, ready, available int32) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		p := statusPath.Child(c.name)
		errs = append(errs, validateNonnegative(int64(c.value), p)...)
		if c.name != "replicas" && c.value > replicas {
			errs = append(errs, field.Invalid(p, c.value, "cannot be greater than status.replicas"))
		}
	}
	if available > ready {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}

func validateCollisionCount(n, old *int32) field.ErrorList {
	var errs field.ErrorList
	if n != nil {
		errs = append(errs, validateNonnegative(int64(*n), statusPath.Child("collisionCount"))...)
	}
	if old != nil && (n == nil || *n < *old) {
		var v int32
		if n != nil {
			v = *n
		}
		errs = append(errs, field.Invalid(statusPath.Child("collisionCount"), v, "cannot be decremented"))
	}
	return errs
}

func validateDeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	st := &d.Status
	errs = append(errs, validateNonnegative(st.ObservedGeneration, statusPath.Child("observedGeneration"))...)
	errs = append(errs, validateNonnegative(int64(st.UnavailableReplicas), statusPath.Child("unavailableReplicas"))...)
	errs = append(errs, validateReplicaCounts([]replicaCount{
		{"replicas", st.Replicas}, {"updatedReplicas", st.UpdatedReplicas},
		{"readyReplicas", st.ReadyReplicas}, {"availableReplicas", st.AvailableReplicas},
	}, st.Replicas, st.ReadyReplicas, st.AvailableReplicas)...)
	if st.TerminatingReplicas != nil {
		errs = append(errs, validateNonnegative(int64(*st.TerminatingReplicas), statusPath.Child("terminatingReplicas"))...)
	}
	return append(errs, validateCollisionCount(st.CollisionCount, old.Status.CollisionCount)...)
}

func validateReplicaSetStatusUpdate(r, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateMetaUpdate(&r.ObjectMeta, &old.ObjectMeta)
	st := &r.Status
	errs = append(errs, validateNonnegative(st.ObservedGeneration, statusPath.Child("observedGeneration"))...)
	errs = append(errs, validateReplicaCounts([]replicaCount{
		{"replicas", st.Replicas}, {"fullyLabeledReplicas", st.FullyLabeledReplicas},
		{"readyReplicas", st.ReadyReplicas}, {"availableReplicas", st.AvailableReplicas},
	}, st.Replicas, st.ReadyReplicas, st.AvailableReplicas)...)
	if st.TerminatingReplicas != nil {
		errs = append(errs, validateNonnegative(int64(*st.TerminatingReplicas), statusPath.Child("terminatingReplicas"))...)
	}
	return errs
}
