package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/fsm"
)

// maxUpdateRetries bounds how often an update without a precondition is
// recomputed after losing a race.
const maxUpdateRetries = 8

// update serves PUT of an object or its status.
func (h *handler) update() error {
	body, err := readBody(h.r)
	if err != nil {
		return err
	}
	obj := h.res.New()
	if err := h.decodeObject(body, obj); err != nil {
		return err
	}
	m := metaOf(obj)
	if m.GetName() == "" {
		m.SetName(h.ri.Name)
	}
	if m.GetName() != h.ri.Name {
		return apierrors.NewBadRequest("the name of the object (" + m.GetName() + ") does not match the name on the URL (" + h.ri.Name + ")")
	}
	if err := h.checkNamespace(m); err != nil {
		return err
	}
	out, err := h.updateObject(m.GetResourceVersion(), func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, out)
	return nil
}

// updateObject reads the current object, asks fn for the new one, merges
// what the server owns back in, validates, and compare-and-swaps it into
// the store. With precondition set (a resourceVersion the client sent) a
// newer stored object is a 409 Conflict; without, a lost race recomputes
// the update on the newer object. An update that changes nothing is not
// written. An object with a deletion timestamp whose last finalizer the
// update removes is deleted.
func (h *handler) updateObject(precondition string, fn func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	var want uint64
	if precondition != "" {
		var err error
		if want, err = strconv.ParseUint(precondition, 10, 64); err != nil {
			return nil, apierrors.NewBadRequest("invalid resourceVersion " + strconv.Quote(precondition))
		}
	}
	for attempt := 0; ; attempt++ {
		cur, kv, err := h.currentLocal()
		fresh := false
		if err != nil || (want != 0 && kv.ModRev != want) || attempt > 0 {
			// The local replica may lag: decide on fresh state.
			if cur, kv, err = h.current(); err != nil {
				return nil, err
			}
			fresh = true
		}
		if want != 0 && kv.ModRev != want {
			return nil, resultError(fsm.Result{Code: fsm.CodeConflict}, h.res.GVR.GroupResource(), h.ri.Name)
		}
		// Only the compare-and-swap below notices that the local replica
		// lagged; any other outcome (an error, a no-op, a dry run) is
		// decided again on fresh state before it is answered.
		err = h.api.check(h.r, h.ri, cur)
		var next runtime.Object
		if err == nil {
			next, err = fn(cur.DeepCopyObject())
		}
		if err == nil {
			next, err = h.prepareForUpdate(next, cur)
		}
		if err == nil {
			err = h.allocateUpdate(next, cur)
		}
		if err == nil {
			err = h.admit(next, cur)
		}
		if err == nil && !h.applying {
			next, err = h.trackUpdate(cur, next)
		}
		if err != nil && !fresh {
			continue
		}
		if err != nil {
			return nil, err
		}
		nm := metaOf(next)
		if nm.GetDeletionTimestamp() != nil && len(nm.GetFinalizers()) == 0 && !specFinalizersPending(next) && !h.awaitsNode(next) {
			return h.finalDelete(next, kv.ModRev)
		}
		value, err := encodeStored(next)
		if err != nil {
			return nil, err
		}
		if (bytes.Equal(value, kv.Value) || isDryRun(h.r)) && !fresh {
			continue
		}
		if bytes.Equal(value, kv.Value) {
			return cur, nil
		}
		if isDryRun(h.r) {
			// A dry run answers what the update would store, at the
			// current resourceVersion (kubectl diff shows it).
			return next, nil
		}
		res, err := h.propose(h.api.updateCommand(kv.Key, value, kv.ModRev, next, cur), h.ri.Name)
		if apierrors.IsConflict(err) && want == 0 && attempt < maxUpdateRetries {
			continue
		}
		if apierrors.IsAlreadyExists(err) && res.FailedIndex > 0 {
			// A claimed allocation was taken: draw again or refuse.
			retry, cerr := h.updateClash(res, next)
			if retry && attempt < maxUpdateRetries {
				continue
			}
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		nm.SetResourceVersion(strconv.FormatUint(res.Rev, 10))
		return next, nil
	}
}

// prepareForUpdate keeps what clients may not change through this
// endpoint: identity and server-owned metadata always, the status on the
// main resource, everything but the status on the status subresource.
func (h *handler) prepareForUpdate(next, cur runtime.Object) (runtime.Object, error) {
	var err error
	if h.res.Status && !h.fullUpdate {
		if h.ri.Subresource == "status" {
			if next, err = copyField(cur, next, "status"); err != nil {
				return nil, err
			}
		} else if next, err = copyField(next, cur, "status"); err != nil {
			return nil, err
		}
	}
	if h.ri.Subresource == "" && h.api.admission.PrepareUpdate != nil {
		h.api.admission.PrepareUpdate(next, cur)
	}
	nm, cm := metaOf(next), metaOf(cur)
	nm.SetUID(cm.GetUID())
	nm.SetCreationTimestamp(cm.GetCreationTimestamp())
	nm.SetNamespace(cm.GetNamespace())
	nm.SetName(cm.GetName())
	nm.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	nm.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	nm.SetGeneration(cm.GetGeneration())
	nm.SetResourceVersion(cm.GetResourceVersion())
	if h.ri.Subresource == "status" {
		// Kubernetes' status strategy: metadata stays as stored.
		nm.SetLabels(cm.GetLabels())
		nm.SetAnnotations(cm.GetAnnotations())
		nm.SetFinalizers(cm.GetFinalizers())
		nm.SetOwnerReferences(cm.GetOwnerReferences())
	}
	if h.res.HasSpec && h.ri.Subresource == "" {
		ns, _ := fieldOf(next, "spec")
		cs, _ := fieldOf(cur, "spec")
		if !reflect.DeepEqual(ns, cs) {
			nm.SetGeneration(cm.GetGeneration() + 1)
		}
	}
	return next, nil
}

// fieldOf returns the JSON value of a top-level field of obj.
func fieldOf(obj runtime.Object, name string) (any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return u[name], nil
}

// copyField returns dst with its top-level field name replaced by src's.
func copyField(dst, src runtime.Object, name string) (runtime.Object, error) {
	du, err := runtime.DefaultUnstructuredConverter.ToUnstructured(dst)
	if err != nil {
		return nil, err
	}
	v, err := fieldOf(src, name)
	if err != nil {
		return nil, err
	}
	if v == nil {
		delete(du, name)
	} else {
		du[name] = v
	}
	b, err := json.Marshal(du)
	if err != nil {
		return nil, err
	}
	zero := reflect.New(reflect.TypeOf(dst).Elem()).Interface().(runtime.Object)
	if err := json.Unmarshal(b, zero); err != nil {
		return nil, err
	}
	return zero, nil
}
