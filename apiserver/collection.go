package apiserver

import (
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// deleteCollection serves DELETE on a collection: every object the
// selectors match is deleted as a DELETE of it would be. It answers the
// list of what it deleted or marked for deletion.
func (h *handler) deleteCollection() error {
	sel, err := h.selector()
	if err != nil {
		return err
	}
	if err := h.readRev(""); err != nil {
		return err
	}
	items, _, _, _, err := h.collect(h.res.KeyPrefix(h.ri.Namespace), "", 0, sel)
	if err != nil {
		return err
	}
	opts, err := h.deleteOptions()
	if err != nil {
		return err
	}
	var done []runtime.Object
	for _, obj := range items {
		m := metaOf(obj)
		one := *h
		one.ri.Name, one.ri.Namespace, one.ri.Verb = m.GetName(), m.GetNamespace(), "delete"
		one.linearized = true
		out, err := one.deleteOne(opts)
		if err != nil {
			return err
		}
		done = append(done, out)
	}
	list := h.res.NewList()
	if err := meta.SetList(list, done); err != nil {
		return err
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, list)
	return nil
}
