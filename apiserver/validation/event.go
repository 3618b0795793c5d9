package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits of an event, as in Kubernetes.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

func validateEventCreate(e *corev1.Event) field.ErrorList {
	errs := validateMeta(&e.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateEvent(e)...)
}

// validateEventUpdate lets recorders bump counts and timestamps.
func validateEventUpdate(e, old *corev1.Event) field.ErrorList {
	errs := validateMetaUpdate(&e.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateEvent(e)...)
}

// validateEvent applies the core/v1 event rules. Events written the new
// way (eventTime set) must also name their reporter and action and keep the
// note short; old-style events only have to point at an object in their
// own namespace.
func validateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	io := field.NewPath("involvedObject")
	if e.InvolvedObject.Kind == "" {
		errs = append(errs, field.Required(io.Child("kind"), ""))
	}
	if e.InvolvedObject.Name == "" {
		errs = append(errs, field.Required(io.Child("name"), ""))
	}
	tooLong := func(p *field.Path, s string, limit int) {
		if len(s) > limit {
			errs = append(errs, field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", limit)))
		}
	}
	tooLong(field.NewPath("reason"), e.Reason, reasonLengthLimit)
	if e.EventTime.IsZero() {
		ns := e.InvolvedObject.Namespace
		if (ns == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != "") || (ns != "" && ns != e.Namespace) {
			errs = append(errs, field.Invalid(io.Child("namespace"), ns, "does not match event.namespace"))
		}
		return errs
	}
	if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, field.Invalid(io.Child("namespace"), e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	rc := field.NewPath("reportingController")
	if e.ReportingController == "" {
		errs = append(errs, field.Required(rc, ""))
	}
	errs = append(errs, invalidEach(rc, e.ReportingController, validation.IsQualifiedName(e.ReportingController))...)
	for _, f := range []struct {
		name, value string
		limit       int
	}{
		{"reportingInstance", e.ReportingInstance, reportingInstanceLengthLimit},
		{"action", e.Action, actionLengthLimit},
		{"reason", e.Reason, -1},
	} {
		if f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.name), ""))
		} else if f.limit > 0 {
			tooLong(field.NewPath(f.name), f.value, f.limit)
		}
	}
	tooLong(field.NewPath("message"), e.Message, noteLengthLimit)
	return errs
}
