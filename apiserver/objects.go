package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/fsm"
)

// handler serves one resource request.
type handler struct {
	api *API
	res *Resource
	ri  requestInfo
	w   http.ResponseWriter
	r   *http.Request
	// fullUpdate lets an update change spec and status together
	// (server-side operations such as binding).
	fullUpdate bool
	// linearized means the local replica has already been brought up to
	// date for this request.
	linearized bool
	// bodyDryRun means a DELETE's DeleteOptions body asked for a dry run
	// (client-go sends it there, not in the query).
	bodyDryRun bool
	// drawn names the allocation keys (ClusterIP, NodePorts) an update
	// chose at random, see allocate.
	drawn map[string]bool
	// applying means the request is a server-side apply, whose field
	// manager has already recorded the managed fields.
	applying bool
	// scale means the request came through the scale subresource
	// (managedFields entries record it).
	scale bool
}

func (h *handler) serve() {
	err := h.checkOptions()
	switch {
	case err != nil:
	case h.ri.Subresource == "":
		err = h.serveMain()
	case h.ri.Subresource == "status":
		if !h.res.Status {
			err = h.notFound()
			break
		}
		err = h.serveSubresource()
	case h.ri.Subresource == "scale":
		if !h.res.Scale {
			err = h.notFound()
			break
		}
		err = h.serveScale()
	case h.ri.Subresource == "log":
		if h.res.GVR.Resource != "pods" || h.ri.Verb != "get" {
			err = h.notFound()
			break
		}
		err = h.podLog()
	case h.ri.Subresource == "exec":
		if h.res.GVR.Resource != "pods" || h.ri.Verb != "create" {
			err = h.notFound()
			break
		}
		err = h.podExec()
	case h.ri.Subresource == "proxy":
		if h.res.GVR.Resource != "nodes" || (h.ri.Verb != "get" && h.ri.Verb != "create") {
			err = h.notFound()
			break
		}
		err = h.nodeProxy()
	case h.ri.Subresource == "finalize":
		if h.res.GVR.Resource != "namespaces" || h.ri.Verb != "update" {
			err = h.notFound()
			break
		}
		err = h.finalize()
	case h.ri.Subresource == "binding":
		if h.res.GVR.Resource != "pods" || h.ri.Verb != "create" {
			err = h.notFound()
			break
		}
		err = h.bind()
	default:
		err = h.notFound()
	}
	if err != nil {
		h.api.writeError(h.w, h.r, err)
	}
}

func (h *handler) notFound() error {
	return apierrors.NewNotFound(h.res.GVR.GroupResource(), h.ri.Name)
}

func (h *handler) serveMain() error {
	switch h.ri.Verb {
	case "get":
		return h.get()
	case "list":
		return h.list()
	case "watch":
		return h.watch()
	case "create":
		if h.ri.Name != "" {
			return apierrors.NewMethodNotSupported(h.res.GVR.GroupResource(), "create")
		}
		return h.create()
	case "update", "patch":
		if h.ri.Name == "" {
			// Kubernetes has no PUT or PATCH of a collection.
			return apierrors.NewMethodNotSupported(h.res.GVR.GroupResource(), h.ri.Verb)
		}
		if h.ri.Verb == "update" {
			return h.update()
		}
		return h.patch()
	case "delete":
		return h.delete()
	case "deletecollection":
		return h.deleteCollection()
	}
	return apierrors.NewMethodNotSupported(h.res.GVR.GroupResource(), h.ri.Verb)
}

func (h *handler) serveSubresource() error {
	switch h.ri.Verb {
	case "get":
		return h.get()
	case "update":
		return h.update()
	case "patch":
		return h.patch()
	}
	return apierrors.NewMethodNotSupported(h.res.GVR.GroupResource(), h.ri.Verb+" "+h.ri.Subresource)
}

func (h *handler) ctx() context.Context { return h.r.Context() }

// readRev applies the request's resourceVersion to a read: "" is a
// linearizable read, "0" any local state, N a local state at revision N
// or later (waiting briefly for the replica to reach it).
func (h *handler) readRev(rv string) error {
	switch rv {
	case "":
		if err := h.api.store.Linearize(h.ctx()); err != nil {
			return storeError(err, h.res.GVR.GroupResource(), h.ri.Name)
		}
	case "0":
	default:
		rev, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", rv))
		}
		ctx, cancel := context.WithTimeout(h.ctx(), 3*time.Second)
		defer cancel()
		if err := h.api.store.Store().WaitRev(ctx, rev); err != nil {
			return apierrors.NewTimeoutError(fmt.Sprintf("too large resource version: %d, current: %d", rev, h.api.store.Store().Rev()), 1)
		}
	}
	return nil
}

// decodeStored turns a stored value into an object with its
// resourceVersion set to the key's mod revision.
func (h *handler) decodeStored(kv fsm.KV) (runtime.Object, error) {
	return decodeStored(h.res, kv)
}

func decodeStored(res *Resource, kv fsm.KV) (runtime.Object, error) {
	obj := res.New()
	if err := json.Unmarshal(kv.Value, obj); err != nil {
		return nil, fmt.Errorf("stored %s %s is corrupt: %w", res.Kind, kv.Key, err)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatUint(kv.ModRev, 10))
	return obj, nil
}

// encodeStored is the stored form of obj: JSON with apiVersion and kind,
// without resourceVersion (the key's mod revision is the truth).
func encodeStored(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	setTypeMeta(obj)
	b, err := json.Marshal(obj)
	m.SetResourceVersion(rv)
	return b, err
}

// current reads the object the request names from the local replica after
// making the read linearizable.
func (h *handler) current() (runtime.Object, fsm.KV, error) {
	if err := h.readRev(""); err != nil {
		return nil, fsm.KV{}, err
	}
	return h.currentLocal()
}

func (h *handler) currentLocal() (runtime.Object, fsm.KV, error) {
	kv, ok, _ := h.api.store.Store().Get(h.res.Key(h.ri.Namespace, h.ri.Name))
	if !ok {
		return nil, kv, h.notFound()
	}
	obj, err := h.decodeStored(kv)
	return obj, kv, err
}

// get serves GET of one object (or its status).
func (h *handler) get() error {
	if err := h.readRev(h.r.URL.Query().Get("resourceVersion")); err != nil {
		return err
	}
	obj, _, err := h.currentLocal()
	if err != nil {
		return err
	}
	if acceptsTable(h.r) {
		return h.writeTable([]runtime.Object{obj}, "", "")
	}
	h.api.writeObject(h.w, h.r, http.StatusOK, obj)
	return nil
}

// propose commits cmd and maps failures to API statuses.
func (h *handler) propose(cmd *fsm.Command, name string) (fsm.Result, error) {
	if h.api.fenceTerm != nil {
		cmd.Term = h.api.fenceTerm(h.r)
	}
	res, err := h.api.store.Propose(h.ctx(), cmd)
	if err != nil {
		return res, storeError(err, h.res.GVR.GroupResource(), name)
	}
	if res.Err() != nil {
		return res, resultError(res, h.res.GVR.GroupResource(), name)
	}
	return res, nil
}

// metaOf returns obj's metadata accessor; served objects always have one.
func metaOf(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	return m
}
