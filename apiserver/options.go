package apiserver

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// checkOptions validates a write's query options as kube-apiserver does
// (422 Invalid on CreateOptions, UpdateOptions, PatchOptions or
// DeleteOptions): a dryRun value other than All must not turn a dry run
// into a real write, and an unknown fieldValidation must not fall back to
// Warn unnoticed.
func (h *handler) checkOptions() error {
	q := h.r.URL.Query()
	dryRun, fieldManager, fieldValidation := q["dryRun"], q.Get("fieldManager"), q.Get("fieldValidation")
	var kind string
	var errs field.ErrorList
	switch h.ri.Verb {
	case "create":
		kind = "CreateOptions"
		errs = metav1validation.ValidateCreateOptions(&metav1.CreateOptions{DryRun: dryRun, FieldManager: fieldManager, FieldValidation: fieldValidation})
	case "update":
		kind = "UpdateOptions"
		errs = metav1validation.ValidateUpdateOptions(&metav1.UpdateOptions{DryRun: dryRun, FieldManager: fieldManager, FieldValidation: fieldValidation})
	case "patch":
		// Server-side apply is refused later, with 415.
		kind = "PatchOptions"
		errs = metav1validation.ValidatePatchOptions(&metav1.PatchOptions{DryRun: dryRun, FieldManager: fieldManager, FieldValidation: fieldValidation}, types.MergePatchType)
	case "delete", "deletecollection":
		kind = "DeleteOptions"
		errs = metav1validation.ValidateDryRun(field.NewPath("dryRun"), dryRun)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
	}
	return nil
}
