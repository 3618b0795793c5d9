package apiserver

import (
	"log/slog"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Config configures an API.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// Admission defaults and validates objects.
	Admission Admission
	// Authorize decides whether the request may do what ri names; nil
	// allows everything (unit tests). It returns an API status error.
	Authorize func(r *http.Request, ri RequestAttributes) error
}

// RequestAttributes is what a resource request asks to do, for
// authorization.
type RequestAttributes struct {
	Verb, Group, Resource, Subresource, Namespace, Name string
	// Object is the object the request is about when the handler has
	// read it (pods' spec.nodeName matters to node users), or nil.
	Object any
}

// API serves the Kubernetes REST API over a Store.
type API struct {
	store     Store
	log       *slog.Logger
	now       func() time.Time
	authorize func(r *http.Request, ri RequestAttributes) error
	admission Admission
}

// New returns an API serving cfg.Store.
func New(cfg Config) *API {
	a := &API{store: cfg.Store, log: cfg.Logger, now: cfg.Now, authorize: cfg.Authorize, admission: cfg.Admission}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "apiserver")
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// ServeHTTP serves /api, /apis and everything below them.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ri, ok := parseRequest(r)
	if !ok {
		a.serveDiscovery(w, r)
		return
	}
	res := lookup(ri.Group, ri.Version, ri.Resource)
	if res == nil {
		a.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{Group: ri.Group, Resource: ri.Resource}, ""))
		return
	}
	if !res.Namespaced && ri.Namespace != "" && ri.Resource != "namespaces" {
		a.writeError(w, r, apierrors.NewNotFound(res.GVR.GroupResource(), ri.Name))
		return
	}
	if err := a.check(r, ri, nil); err != nil {
		a.writeError(w, r, err)
		return
	}
	h := &handler{api: a, res: res, ri: ri, w: w, r: r}
	h.serve()
}

func (a *API) check(r *http.Request, ri requestInfo, obj any) error {
	if a.authorize == nil {
		return nil
	}
	return a.authorize(r, RequestAttributes{Verb: ri.Verb, Group: ri.Group, Resource: ri.Resource, Subresource: ri.Subresource, Namespace: ri.Namespace, Name: ri.Name, Object: obj})
}
