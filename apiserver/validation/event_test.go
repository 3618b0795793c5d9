package validation

import (
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateEvent(t *testing.T) {
	newStyle := func(e *corev1.Event) {
		e.EventTime = metav1.NewMicroTime(created.Time)
		e.ReportingController, e.ReportingInstance, e.Action = "skiff.io/scheduler", "server-1", "Binding"
	}
	runCases(t, testEvent, []tcase[*corev1.Event]{
		{name: "valid"},
		{name: "new-style event", mutate: newStyle},
		{name: "involvedObject name required", mutate: func(e *corev1.Event) { e.InvolvedObject.Name = "" }, path: "involvedObject.name", typ: field.ErrorTypeRequired},
		{name: "involvedObject kind required", mutate: func(e *corev1.Event) { e.InvolvedObject.Kind = "" }, path: "involvedObject.kind", typ: field.ErrorTypeRequired},
		{name: "involvedObject in another namespace", mutate: func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, path: "involvedObject.namespace", typ: field.ErrorTypeInvalid},
		{name: "reason too long", mutate: func(e *corev1.Event) { e.Reason = strings.Repeat("R", reasonLengthLimit+1) }, path: "reason", typ: field.ErrorTypeInvalid},
		{name: "new-style message too long", mutate: func(e *corev1.Event) {
			newStyle(e)
			e.Message = strings.Repeat("m", noteLengthLimit+1)
		}, path: "message", typ: field.ErrorTypeInvalid},
		{name: "new-style reportingController required", mutate: func(e *corev1.Event) {
			newStyle(e)
			e.ReportingController = ""
		}, path: "reportingController", typ: field.ErrorTypeRequired},
		{name: "new-style action required", mutate: func(e *corev1.Event) {
			newStyle(e)
			e.Action = ""
		}, path: "action", typ: field.ErrorTypeRequired},
		{name: "count may grow", update: true, mutate: func(e *corev1.Event) { e.Count = 5 }},
		{name: "name immutable", update: true, mutate: func(e *corev1.Event) { e.Name = "other" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
	})
}

func TestValidateLease(t *testing.T) {
	runCases(t, testLease, []tcase[*coordinationv1.Lease]{
		{name: "valid"},
		{name: "duration not positive", mutate: func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptrTo(int32(0)) }, path: "spec.leaseDurationSeconds", typ: field.ErrorTypeInvalid},
		{name: "transitions negative", mutate: func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = ptrTo(int32(-1)) }, path: "spec.leaseTransitions", typ: field.ErrorTypeInvalid},
		{name: "holder identity too long", mutate: func(l *coordinationv1.Lease) {
			l.Spec.HolderIdentity = ptrTo(strings.Repeat("h", maxHolderIdentityLength+1))
		}, path: "spec.holderIdentity", typ: field.ErrorTypeTooLong},
		{name: "strategy unsupported", mutate: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptrTo(coordinationv1.CoordinatedLeaseStrategy("Youngest"))
		}, path: "spec.strategy", typ: field.ErrorTypeNotSupported},
		{name: "preferredHolder needs strategy", mutate: func(l *coordinationv1.Lease) { l.Spec.PreferredHolder = ptrTo("server-2") }, path: "spec.preferredHolder", typ: field.ErrorTypeForbidden},
		{name: "holder may change", update: true, mutate: func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptrTo("server-2_9a1b") }},
		{name: "name not a subdomain", mutate: func(l *coordinationv1.Lease) { l.Name = "Skiff" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
	})
}
