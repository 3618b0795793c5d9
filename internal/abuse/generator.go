package abuse

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Options configure a Generator.
type Options struct {
	// Namespace is where cases create and address objects; Prelude
	// creates it. Empty means "abuse".
	Namespace string
	// Validation means the server validates objects (names, labels,
	// sizes) with Kubernetes' rules, answering 422; without it the
	// classes that need validation are left out.
	Validation bool
}

// Generator yields Cases. It is not safe for concurrent use.
type Generator struct {
	rng     *rand.Rand
	opts    Options
	classes []Class
	gen     map[Class]func(*Case)
	n       int
}

// New returns a Generator of the cases seed determines.
func New(seed uint64, opts Options) *Generator {
	if opts.Namespace == "" {
		opts.Namespace = "abuse"
	}
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), opts: opts}
	for _, c := range Classes() {
		if c == InvalidName && !opts.Validation {
			continue
		}
		g.classes = append(g.classes, c)
	}
	g.gen = map[Class]func(*Case){
		MalformedJSON: g.malformedJSON, MalformedYAML: g.malformedYAML, WrongType: g.wrongType,
		UnknownField: g.unknownField, HugeBody: g.hugeBody, StoreLimits: g.storeLimits,
		DeepNesting: g.deepNesting, StaleResourceVersion: g.staleResourceVersion,
		BadLabelSelector: g.badLabelSelector, BadFieldSelector: g.badFieldSelector,
		UnsupportedField: g.unsupportedField, WrongContentType: g.wrongContentType,
		InvalidName: g.invalidName, NamespaceMismatch: g.namespaceMismatch, BadPatch: g.badPatch,
		BadContinue: g.badContinue, BadLimit: g.badLimit, BadQuery: g.badQuery,
		BadDeleteOptions: g.badDeleteOptions, BadSubresource: g.badSubresource,
		WrongMethod: g.wrongMethod, UnknownResource: g.unknownResource, NotFound: g.notFound,
		WrongKind: g.wrongKind, AlreadyExists: g.alreadyExists,
	}
	return g
}

// Classes returns the classes g generates, in turn order.
func (g *Generator) Classes() []Class { return g.classes }

// Prelude returns the requests that create what every case assumes (the
// namespace); each must answer 2xx or 409 (it exists already).
func (g *Generator) Prelude() []Request {
	return []Request{post(namespaces.collection(""), namespaces.valid(g.opts.Namespace))}
}

// Next returns the next case.
func (g *Generator) Next() Case {
	c := Case{N: g.n, Class: g.classes[g.n%len(g.classes)]}
	g.n++
	g.gen[c.Class](&c)
	return c
}

// name returns a fresh, valid object name for the current case.
func (g *Generator) name() string { return fmt.Sprintf("abuse-%d", g.n-1) }

func (g *Generator) ns() string { return g.opts.Namespace }

func (g *Generator) intn(n int) int { return g.rng.IntN(n) }

func (g *Generator) coin() bool { return g.rng.IntN(2) == 0 }

func pick[T any](g *Generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// kind is a served resource the cases use.
type kind struct {
	group, plural, kind string
	namespaced          bool
	// object returns a valid object of the kind.
	object func(name string) obj
}

// obj is a JSON object under construction.
type obj = map[string]any

func (k kind) apiVersion() string {
	if k.group == "" {
		return "v1"
	}
	return k.group + "/v1"
}

func (k kind) prefix() string {
	if k.group == "" {
		return "/api/v1"
	}
	return "/apis/" + k.group + "/v1"
}

// collection is the path of the kind's objects in ns.
func (k kind) collection(ns string) string {
	if k.namespaced {
		return k.prefix() + "/namespaces/" + url.PathEscape(ns) + "/" + k.plural
	}
	return k.prefix() + "/" + k.plural
}

// path is the path of one object.
func (k kind) path(ns, name string) string {
	return k.collection(ns) + "/" + url.PathEscape(name)
}

// valid returns a valid object of the kind named name, with apiVersion
// and kind.
func (k kind) valid(name string) obj {
	o := k.object(name)
	o["apiVersion"], o["kind"] = k.apiVersion(), k.kind
	meta := obj{"name": name}
	if m, ok := o["metadata"].(obj); ok {
		meta = m
		meta["name"] = name
	}
	o["metadata"] = meta
	return o
}

func containers() []any {
	return []any{obj{"name": "c", "image": "busybox", "ports": []any{obj{"containerPort": 80}}}}
}

var (
	configMaps = kind{plural: "configmaps", kind: "ConfigMap", namespaced: true, object: func(string) obj {
		return obj{"data": obj{"k": "v"}}
	}}
	secrets = kind{plural: "secrets", kind: "Secret", namespaced: true, object: func(string) obj {
		return obj{"type": "Opaque", "data": obj{"k": "dmFsdWU="}}
	}}
	pods = kind{plural: "pods", kind: "Pod", namespaced: true, object: func(string) obj {
		return obj{"spec": obj{"containers": containers()}}
	}}
	services = kind{plural: "services", kind: "Service", namespaced: true, object: func(string) obj {
		return obj{"spec": obj{"ports": []any{obj{"port": 80}}}}
	}}
	deployments = kind{group: "apps", plural: "deployments", kind: "Deployment", namespaced: true, object: func(name string) obj {
		return obj{"spec": obj{
			"replicas": 1,
			"selector": obj{"matchLabels": obj{"app": name}},
			"template": obj{"metadata": obj{"labels": obj{"app": name}}, "spec": obj{"containers": containers()}},
		}}
	}}
	namespaces = kind{plural: "namespaces", kind: "Namespace", object: func(string) obj { return obj{} }}

	// namespacedKinds are the kinds cases create and abuse.
	namespacedKinds = []kind{configMaps, secrets, pods, services, deployments}
)

// set sets the value at a dotted path ("spec.containers.0.image") in o,
// creating objects on the way; numeric segments index lists.
func set(o obj, path string, v any) obj {
	segs := strings.Split(path, ".")
	var cur any = o
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case obj:
			if last {
				c[s] = v
				return o
			}
			next, ok := c[s]
			if !ok {
				next = obj{}
				c[s] = next
			}
			cur = next
		case []any:
			j, err := strconv.Atoi(s)
			if err != nil || j >= len(c) {
				panic(fmt.Sprintf("abuse: bad path %q", path))
			}
			if last {
				c[j] = v
				return o
			}
			cur = c[j]
		default:
			panic(fmt.Sprintf("abuse: path %q goes through a %T", path, cur))
		}
	}
	return o
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Request builders.

func post(path string, o obj) Request {
	return Request{Method: http.MethodPost, Path: path, ContentType: "application/json", Body: Bytes(mustJSON(o))}
}

func put(path string, o obj) Request {
	return Request{Method: http.MethodPut, Path: path, ContentType: "application/json", Body: Bytes(mustJSON(o))}
}

func get(path string) Request { return Request{Method: http.MethodGet, Path: path} }

func withBody(method, path, contentType string, body Body) Request {
	return Request{Method: method, Path: path, ContentType: contentType, Body: body}
}

// query appends a query to path.
func query(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// create is the setup that creates a valid object of k named name in the
// generator's namespace.
func (g *Generator) create(k kind, name string) Request {
	return post(k.collection(g.ns()), k.valid(name))
}

// writeTo returns a request that writes o, as a create (POST to the
// collection) or an update (PUT to the object's path), at random.
func (g *Generator) writeTo(k kind, name, contentType string, body Body) Request {
	if g.coin() {
		return withBody(http.MethodPost, k.collection(g.ns()), contentType, body)
	}
	return withBody(http.MethodPut, k.path(g.ns(), name), contentType, body)
}

// Status codes.
const (
	badRequest  = http.StatusBadRequest
	notFound    = http.StatusNotFound
	notAllowed  = http.StatusMethodNotAllowed
	conflict    = http.StatusConflict
	tooLarge    = http.StatusRequestEntityTooLarge
	unsupported = http.StatusUnsupportedMediaType
	invalid     = http.StatusUnprocessableEntity
)
