package apiserver

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// selector filters objects by label and field selectors.
type selector struct {
	labels labels.Selector
	fields fields.Selector
}

// supportedFields lists, per resource, the field selectors clients use,
// beyond metadata.name and metadata.namespace.
var supportedFields = map[string][]string{
	"pods":       {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "status.podIP"},
	"events":     {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "reason", "type", "source"},
	"secrets":    {"type"},
	"nodes":      {"spec.unschedulable"},
	"namespaces": {"status.phase"},
}

func (h *handler) selector() (selector, error) {
	q := h.r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if !fieldSupported(h.res.GVR.Resource, req.Field) {
			return selector{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return selector{labels: ls, fields: fs}, nil
}

func fieldSupported(resource, field string) bool {
	if field == "metadata.name" || field == "metadata.namespace" {
		return true
	}
	for _, f := range supportedFields[resource] {
		if f == field {
			return true
		}
	}
	return false
}

// empty reports whether the selector matches everything.
func (s selector) empty() bool { return s.labels.Empty() && s.fields.Empty() }

func (s selector) matches(obj runtime.Object) bool {
	if s.empty() {
		return true
	}
	m := metaOf(obj)
	if !s.labels.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	return s.fields.Empty() || s.fields.Matches(objectFields(obj))
}

// objectFields is the field set that field selectors match against.
func objectFields(obj runtime.Object) fields.Set {
	m := metaOf(obj)
	set := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["status.phase"] = string(o.Status.Phase)
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["status.podIP"] = o.Status.PodIP
	case *corev1.Event:
		set["involvedObject.kind"] = o.InvolvedObject.Kind
		set["involvedObject.namespace"] = o.InvolvedObject.Namespace
		set["involvedObject.name"] = o.InvolvedObject.Name
		set["involvedObject.uid"] = string(o.InvolvedObject.UID)
		set["reason"] = o.Reason
		set["type"] = o.Type
		set["source"] = o.Source.Component
	case *corev1.Secret:
		set["type"] = string(o.Type)
	case *corev1.Node:
		set["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *corev1.Namespace:
		set["status.phase"] = string(o.Status.Phase)
	}
	return set
}

// andName narrows a selector's field part to one object name.
func andName(s selector, name string) fields.Selector {
	return fields.AndSelectors(s.fields, fields.OneTermEqualSelector("metadata.name", name))
}
