package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/fsm"
)

// deleteOptions reads DeleteOptions from the body or the query.
func (h *handler) deleteOptions() (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	body, err := readBody(h.r)
	if err != nil {
		return opts, err
	}
	if len(body) > 0 {
		// A body without apiVersion and kind is DeleteOptions, as in
		// Kubernetes; a body of another kind is refused rather than
		// ignored (its preconditions or dryRun would be lost).
		def := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		obj, _, err := codecs.UniversalDeserializer().Decode(body, &def, &opts)
		if err != nil {
			return opts, apierrors.NewBadRequest("decode DeleteOptions: " + err.Error())
		}
		if obj != &opts {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("the body is a %T, not DeleteOptions", obj))
		}
		if errs := metav1validation.ValidateDryRun(field.NewPath("dryRun"), opts.DryRun); len(errs) > 0 {
			return opts, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
		}
		h.bodyDryRun = len(opts.DryRun) > 0
	}
	q := h.r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil || g < 0 {
			return opts, apierrors.NewBadRequest("gracePeriodSeconds must be a non-negative integer")
		}
		opts.GracePeriodSeconds = &g
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return opts, apierrors.NewBadRequest("propagationPolicy must be Background, Foreground or Orphan")
		}
	}
	return opts, nil
}

// delete serves DELETE of one object. Pods bound to a node get a deletion
// timestamp and stay until their node confirms (a delete with grace period
// 0); objects with finalizers stay until the finalizers are removed;
// everything else goes at once.
func (h *handler) delete() error {
	opts, err := h.deleteOptions()
	if err != nil {
		return err
	}
	out, err := h.deleteOne(opts)
	if err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, out)
	return nil
}

func (h *handler) deleteOne(opts metav1.DeleteOptions) (runtime.Object, error) {
	for attempt := 0; ; attempt++ {
		var cur runtime.Object
		var kv fsm.KV
		var err error
		if h.linearized && attempt == 0 {
			// The replica is already fresh for this request; the delete's
			// revision check catches anything newer.
			cur, kv, err = h.currentLocal()
		} else {
			cur, kv, err = h.current()
		}
		if err != nil {
			return nil, err
		}
		if err := h.api.check(h.r, h.ri, cur); err != nil {
			return nil, err
		}
		if h.res.GVR.Resource == "namespaces" && slices.Contains(SystemNamespaces, h.ri.Name) {
			// As in Kubernetes: every cluster has these, and the servers
			// and workers rely on them.
			return nil, apierrors.NewForbidden(h.res.GVR.GroupResource(), h.ri.Name, errors.New("this namespace may not be deleted"))
		}
		m := metaOf(cur)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != m.GetUID() {
				return nil, apierrors.NewConflict(h.res.GVR.GroupResource(), h.ri.Name, errPrecondition("UID", string(*p.UID), string(m.GetUID())))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
				return nil, apierrors.NewConflict(h.res.GVR.GroupResource(), h.ri.Name, errPrecondition("ResourceVersion", *p.ResourceVersion, m.GetResourceVersion()))
			}
		}
		next := cur.DeepCopyObject()
		nm := metaOf(next)
		finalizers := nm.GetFinalizers()
		if opts.PropagationPolicy != nil {
			switch *opts.PropagationPolicy {
			case metav1.DeletePropagationOrphan:
				finalizers = addFinalizer(finalizers, metav1.FinalizerOrphanDependents)
			case metav1.DeletePropagationForeground:
				finalizers = addFinalizer(finalizers, metav1.FinalizerDeleteDependents)
			}
		}
		nm.SetFinalizers(finalizers)
		graceful := h.gracePeriod(next, opts)
		var out runtime.Object
		if len(finalizers) == 0 && !specFinalizersPending(next) && graceful == 0 {
			out, err = h.finalDelete(cur, kv.ModRev)
		} else {
			out, err = h.markDeleting(next, kv, graceful)
		}
		if apierrors.IsConflict(err) && attempt < maxUpdateRetries && (opts.Preconditions == nil || opts.Preconditions.ResourceVersion == nil) {
			continue
		}
		return out, err
	}
}

// gracePeriod is how long a deletion waits for the node: only pods bound
// to a node wait; 0 means delete now.
func (h *handler) gracePeriod(obj runtime.Object, opts metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !h.res.GracefulDelete || pod.Spec.NodeName == "" {
		return 0
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	g := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		g = *opts.GracePeriodSeconds
	}
	if cur := pod.DeletionGracePeriodSeconds; cur != nil && *cur < g {
		g = *cur
	}
	return g
}

// awaitsNode reports whether obj is a pod whose node has yet to confirm its
// deletion.
func (h *handler) awaitsNode(obj runtime.Object) bool {
	pod, ok := obj.(*corev1.Pod)
	return ok && pod.Spec.NodeName != "" && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds > 0
}

// markDeleting records a pending deletion: deletion timestamp and grace
// period (shortened, never extended, by repeated deletes).
func (h *handler) markDeleting(obj runtime.Object, kv fsm.KV, grace int64) (runtime.Object, error) {
	m := metaOf(obj)
	if m.GetDeletionTimestamp() == nil || (m.GetDeletionGracePeriodSeconds() != nil && grace < *m.GetDeletionGracePeriodSeconds()) {
		ts := metav1.NewTime(h.api.now().UTC().Add(time.Duration(grace) * time.Second).Truncate(time.Second))
		m.SetDeletionTimestamp(&ts)
		m.SetDeletionGracePeriodSeconds(&grace)
	}
	markTerminating(obj)
	value, err := encodeStored(obj)
	if err != nil {
		return nil, err
	}
	if string(value) == string(kv.Value) || h.deleteDryRun() {
		return obj, nil
	}
	res, err := h.propose(&fsm.Command{Op: fsm.OpUpdate, Key: kv.Key, Value: value, Rev: kv.ModRev}, m.GetName())
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatUint(res.Rev, 10))
	return obj, nil
}

// finalDelete removes the object stored at revision rev.
func (h *handler) finalDelete(obj runtime.Object, rev uint64) (runtime.Object, error) {
	if h.deleteDryRun() {
		return obj, nil
	}
	m := metaOf(obj)
	if _, err := h.propose(h.api.deleteCommand(h.res.Key(m.GetNamespace(), m.GetName()), rev, obj), m.GetName()); err != nil {
		return nil, err
	}
	return obj, nil
}

// deleteDryRun reports whether the request asks for a dry run, in its
// query or in its DeleteOptions body.
func (h *handler) deleteDryRun() bool { return h.bodyDryRun || isDryRun(h.r) }

func addFinalizer(fs []string, f string) []string {
	if slices.Contains(fs, f) {
		return fs
	}
	return append(fs, f)
}

type preconditionError struct{ what, want, got string }

func (e preconditionError) Error() string {
	return "Precondition failed: " + e.what + " in precondition: " + e.want + ", " + e.what + " in object meta: " + e.got
}

func errPrecondition(what, want, got string) error { return preconditionError{what, want, got} }
