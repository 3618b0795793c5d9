package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
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
	// ServiceCIDR is where ClusterIPs are allocated; zero means
	// DefaultServiceCIDR.
	ServiceCIDR netip.Prefix
	// Metrics, if set, receives request metrics.
	Metrics *Metrics
	// MaxReadOnlyInFlight and MaxMutatingInFlight bound concurrent
	// non-watch requests; beyond them requests get 429. Zero means the
	// defaults.
	MaxReadOnlyInFlight, MaxMutatingInFlight int
	// Authorize decides whether the request may do what ri names; nil
	// allows everything (unit tests). It returns an API status error.
	Authorize func(r *http.Request, ri RequestAttributes) error
	// NodeTransport reaches workers' endpoints (pods/{name}/log); it
	// presents the server's client certificate. Nil answers those
	// requests 503.
	NodeTransport http.RoundTripper
	// FenceTerm returns the Raft term the request's writes are fenced to,
	// or 0 for none. The server fences the writes of its leader-only
	// components (scheduler, controllers) to the term they were started
	// in; users' writes are never fenced. Nil fences nothing.
	FenceTerm func(r *http.Request) uint64
	// Drain, when cancelled, ends every watch (cleanly, as a watch's
	// timeout does, so clients watch again elsewhere) while other
	// requests run to completion: the server cancels it when it starts a
	// graceful stop. Nil never drains.
	Drain context.Context
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
	store       Store
	log         *slog.Logger
	now         func() time.Time
	authorize   func(r *http.Request, ri RequestAttributes) error
	fenceTerm   func(r *http.Request) uint64
	admission   Admission
	metrics     *Metrics
	serviceCIDR netip.Prefix
	readOnly    *inflight
	mutating    *inflight
	// nodeTransport reaches workers; nil when the server has none.
	nodeTransport http.RoundTripper
	watches       *watchCaches
	fields        *fieldManagers
	drain         context.Context
}

// New returns an API serving cfg.Store.
func New(cfg Config) *API {
	a := &API{store: cfg.Store, log: cfg.Logger, now: cfg.Now, authorize: cfg.Authorize, admission: cfg.Admission, fenceTerm: cfg.FenceTerm}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "apiserver")
	if a.now == nil {
		a.now = time.Now
	}
	a.metrics = cfg.Metrics
	a.nodeTransport = cfg.NodeTransport
	a.drain = cfg.Drain
	a.watches = newWatchCaches(cfg.Store)
	a.fields = newFieldManagers()
	a.serviceCIDR = cfg.ServiceCIDR
	if !a.serviceCIDR.IsValid() {
		a.serviceCIDR = DefaultServiceCIDR
	}
	a.readOnly = newInflight("readOnly", orDefault(cfg.MaxReadOnlyInFlight, DefaultMaxReadOnlyInFlight))
	a.mutating = newInflight("mutating", orDefault(cfg.MaxMutatingInFlight, DefaultMaxMutatingInFlight))
	return a
}

// ServeHTTP serves /api, /apis and everything below them, and the OpenAPI
// documents at /openapi/v2 and /openapi/v3.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/openapi/") {
		a.serveOpenAPI(w, r)
		return
	}
	ri, ok := parseRequest(r)
	if !ok {
		a.serveDiscovery(w, r)
		return
	}
	switch {
	case ri.Verb == "watch":
		defer a.metrics.watchStarted(ri)()
	case ri.Subresource == "exec":
		// A session lasts as long as its user wants: like watches, it
		// holds no in-flight slot, as in Kubernetes' long-running check.
	default:
		l := a.readOnly
		if isMutating(ri.Verb) {
			l = a.mutating
		}
		release, ok := l.acquire()
		if !ok {
			if a.metrics != nil {
				a.metrics.rejected.WithLabelValues(l.kind).Inc()
			}
			a.writeError(w, r, tooManyRequests())
			return
		}
		defer release()
		if a.metrics != nil {
			g := a.metrics.inflight.WithLabelValues(l.kind)
			g.Inc()
			defer g.Dec()
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	start := time.Now()
	defer func() { a.metrics.observe(ri, rec.code, time.Since(start)) }()
	w = rec
	if ri.Group == metricsGroup {
		a.serveResourceMetrics(w, r, ri)
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
	// A create is authorized once the body has named the object.
	if ri.Verb != "create" || ri.Subresource != "" {
		if err := a.check(r, ri, nil); err != nil {
			a.writeError(w, r, err)
			return
		}
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

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}
