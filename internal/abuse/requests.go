package abuse

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Classes about the URL: method, path and query.

// badLabelSelectors do not parse as label selectors.
var badLabelSelectors = []string{
	"a in (", "a notin", "!", "a=b=c", "key with space=1", "=x", "a,,b", "(a)", "a in b",
	"a=" + strings.Repeat("v", 64), "a/b/c=1", "-a=1", "a=-b", "a>x", "a<", "a!=b!=c", "a in (b c)", "!a=b",
	"a==b==c", strings.Repeat("k", 64) + "=v", "a=b,", ",", "a@b=c", "a=(b)", "a in ((b))",
}

// badFieldSelectors do not parse as field selectors.
var badFieldSelectors = []string{
	"a", "metadata.name", "a in (b)", "a>1", "a<1", "metadata.name!", "!metadata.name", "a=b,c",
}

// unsupportedFieldSelectors parse but name fields the resources do not
// index.
var unsupportedFieldSelectors = []string{
	"spec.bogus=x", "metadata.labels=x", "status.phase=Running", "metadata.uid=x", "data.k=v",
	"spec.nodeName=n", "metadata.name=a,spec.x=b", "metadata.annotations!=x", "kind=ConfigMap",
}

// selectorRequest addresses the collection of k with query key=value, as
// a list, a watch or a delete-collection.
func (g *Generator) selectorRequest(k kind, key, value string) (Request, string) {
	coll := k.collection(g.ns())
	if g.intn(4) == 0 {
		coll = k.prefix() + "/" + k.plural // all namespaces
	}
	switch g.intn(3) {
	case 0:
		return get(query(coll, key, value)), "list"
	case 1:
		return get(query(coll, key, value, "watch", "true", "timeoutSeconds", "1")), "watch"
	}
	return Request{Method: http.MethodDelete, Path: query(coll, key, value)}, "delete-collection"
}

func (g *Generator) badLabelSelector(c *Case) {
	sel := pick(g, badLabelSelectors)
	var verb string
	c.Request, verb = g.selectorRequest(pick(g, namespacedKinds), "labelSelector", sel)
	c.What = fmt.Sprintf("%s with labelSelector %.60q", verb, sel)
	c.Want = []int{badRequest}
}

func (g *Generator) badFieldSelector(c *Case) {
	sel := pick(g, badFieldSelectors)
	var verb string
	c.Request, verb = g.selectorRequest(pick(g, namespacedKinds), "fieldSelector", sel)
	c.What = fmt.Sprintf("%s with fieldSelector %q", verb, sel)
	c.Want = []int{badRequest}
}

func (g *Generator) unsupportedField(c *Case) {
	sel := pick(g, unsupportedFieldSelectors)
	var verb string
	c.Request, verb = g.selectorRequest(pick(g, []kind{configMaps, deployments, services}), "fieldSelector", sel)
	c.What = fmt.Sprintf("%s with fieldSelector %q", verb, sel)
	c.Want = []int{badRequest}
}

// badContinue: list continue tokens that do not decode, or decode to a
// position in another list. Tokens never name a revision ahead of the
// server's (that is a 504 after a wait, not abuse).
func (g *Generator) badContinue(c *Case) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	raw := make([]byte, 1+g.intn(48))
	for i := range raw {
		raw[i] = byte(g.intn(256))
	}
	tok := pick(g, []string{
		"garbage!", "%%%", b64("not json"), b64(`{"rv":1}`), b64(`{"rv":"x","start":"a"}`), b64(`[]`),
		b64(`{"rv":1,"start":"/registry/secrets/kube-system/x"}`), b64(`{"rv":1,"start":"/a"}`),
		base64.StdEncoding.EncodeToString(raw) + "=", b64(`{"rv":-1,"start":"/registry/configmaps/x"}`),
		b64(`{"rv":1,"start":""}`), string(raw[:1]) + "\x7f",
	})
	k := pick(g, []kind{configMaps, secrets, deployments})
	c.What = fmt.Sprintf("continue %.60q", tok)
	c.Request = get(query(k.collection(g.ns()), "limit", "1", "continue", tok))
	c.Want = []int{badRequest}
}

func (g *Generator) badLimit(c *Case) {
	limit := pick(g, []string{"-1", "-100", "abc", "1.5", "99999999999999999999", "0x10", " 5", "1e3", "--1", "-9223372036854775808"})
	k := pick(g, namespacedKinds)
	c.What = fmt.Sprintf("limit %q", limit)
	c.Request = get(query(k.collection(g.ns()), "limit", limit))
	c.Want = []int{badRequest}
}

// badQuery: resourceVersion, timeoutSeconds, dryRun, fieldValidation and
// fieldManager values Kubernetes refuses, on otherwise good requests.
func (g *Generator) badQuery(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments})
	name := g.name()
	badRV := pick(g, []string{"abc", "-1", "1.0", "0x1", "1 ", "１", "18446744073709551616"})
	c.Want = []int{badRequest}
	switch g.intn(6) {
	case 0:
		c.What = fmt.Sprintf("get at resourceVersion %q", badRV)
		c.Setup = []Request{g.create(k, name)}
		c.Request = get(query(k.path(g.ns(), name), "resourceVersion", badRV))
	case 1:
		c.What = fmt.Sprintf("list at resourceVersion %q", badRV)
		c.Request = get(query(k.collection(g.ns()), "resourceVersion", badRV))
	case 2:
		c.What = fmt.Sprintf("watch from resourceVersion %q", badRV)
		c.Request = get(query(k.collection(g.ns()), "watch", "true", "resourceVersion", badRV, "timeoutSeconds", "1"))
		if g.coin() {
			c.Request.Path += "&sendInitialEvents=true&allowWatchBookmarks=true"
		}
	case 3:
		t := pick(g, []string{"-1", "abc", "1.5", "-9999999999"})
		c.What = fmt.Sprintf("watch with timeoutSeconds %q", t)
		c.Request = get(query(k.collection(g.ns()), "watch", "true", "timeoutSeconds", t))
	default:
		key, value := "dryRun", pick(g, []string{"all", "None", "true", "", "All,All"})
		switch g.intn(3) {
		case 0:
			key, value = "fieldValidation", pick(g, []string{"strict", "Bogus", "warn", "Strict "})
		case 1:
			key, value = "fieldManager", pick(g, []string{strings.Repeat("m", 129), "bad\x00manager", "tab\tmanager"})
		}
		c.What = fmt.Sprintf("%s=%.40q", key, value)
		c.Want = []int{invalid}
		o := k.valid(name)
		switch g.intn(4) {
		case 0:
			c.Request = post(query(k.collection(g.ns()), key, value), o)
		case 1:
			c.Setup = []Request{g.create(k, name)}
			c.Request = put(query(k.path(g.ns(), name), key, value), set(o, "metadata.labels", obj{"changed": "yes"}))
		case 2:
			c.Setup = []Request{g.create(k, name)}
			c.Request = withBody(http.MethodPatch, query(k.path(g.ns(), name), key, value), "application/merge-patch+json", String(`{"metadata":{"labels":{"patched":"yes"}}}`))
		default:
			if key != "dryRun" {
				key, value = "dryRun", "all"
				c.What = "dryRun=all"
			}
			c.Setup = []Request{g.create(k, name)}
			c.Request = Request{Method: http.MethodDelete, Path: query(k.path(g.ns(), name), key, value)}
		}
	}
}

// wrongMethod: methods the path does not serve.
func (g *Generator) wrongMethod(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	obj := k.path(g.ns(), name)
	var r Request
	switch g.intn(6) {
	case 0:
		r = post(obj, k.valid(name))
	case 1:
		r = withBody(pick(g, []string{http.MethodPut, http.MethodPatch}), k.collection(g.ns()), "application/merge-patch+json", Bytes(mustJSON(k.valid(name))))
		if r.Method == http.MethodPut {
			r.ContentType = "application/json"
		}
	case 2:
		sub := pick(g, []kind{pods, services, deployments})
		r = Request{Method: pick(g, []string{http.MethodPost, http.MethodDelete}), Path: sub.path(g.ns(), name) + "/status"}
	case 3:
		r = Request{Method: pick(g, []string{http.MethodPost, http.MethodDelete}), Path: deployments.path(g.ns(), name) + "/scale"}
	case 4:
		r = Request{Method: pick(g, []string{http.MethodOptions, http.MethodTrace, "PROPFIND", "FROB", "MKCOL"}), Path: pick(g, []string{obj, k.collection(g.ns())})}
	default:
		r = Request{Method: pick(g, []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}), Path: pick(g, []string{"/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1"})}
	}
	c.What = r.Method + " on " + r.Path
	c.Request = r
	c.Want = []int{notAllowed}
}

// unknownResource: resources, groups, versions and subresources that are
// not served.
func (g *Generator) unknownResource(c *Case) {
	ns, name := g.ns(), g.name()
	method := pick(g, []string{http.MethodGet, http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut})
	paths := []string{
		"/api/v1/namespaces/" + ns + "/frobs", "/api/v1/frobs", "/apis/apps/v1/frobs", "/apis/bogus.io/v1/things",
		"/api/v2/pods", "/apis/apps/v2/deployments", "/apis/apps/v1/namespaces/" + ns + "/configmaps",
		"/api/v1/namespaces/" + ns + "/deployments", "/api/v1/namespaces/" + ns + "/nodes",
		"/api/v1/namespaces/" + ns + "/configmaps/" + name + "/status", "/api/v1/namespaces/" + ns + "/pods/" + name + "/log",
		"/api/v1/namespaces/" + ns + "/pods/" + name + "/exec", "/apis/apps/v1/namespaces/" + ns + "/deployments/" + name + "/rollback",
		"/api/v1/namespaces/" + ns + "/services/" + name + "/proxy", "/api/v1/namespaces/" + ns + "/configmaps/" + name + "/scale",
		"/apis/apps/v1/namespaces/" + ns + "/deployments/" + name + "/binding", "/apis/policy/v1beta1/podsecuritypolicies",
	}
	if method == http.MethodGet {
		// Paths no resource request parses (discovery), which only GET may
		// ask about.
		paths = append(paths, "/apis/bogus.io", "/apis/bogus.io/v1", "/api/v2", "/apis/apps/v2",
			"/api/v1/namespaces/"+ns+"/configmaps/"+name+"/status/extra", "/apis/apps/v1/a/b/c/d/e/f")
	}
	c.Request = Request{Method: method, Path: pick(g, paths)}
	if method == http.MethodPost || method == http.MethodPut {
		c.Request.ContentType, c.Request.Body = "application/json", Bytes(mustJSON(configMaps.valid(name)))
	}
	c.What = c.Request.Method + " of an unknown resource"
	c.Want = []int{notFound}
}

// notFound: reads and writes of objects and namespaces that do not exist.
func (g *Generator) notFound(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments, services, pods})
	name := "missing-" + g.name()
	path := k.path(g.ns(), name)
	switch g.intn(7) {
	case 0:
		c.Request = get(path)
	case 1:
		c.Request = Request{Method: http.MethodDelete, Path: path}
	case 2:
		c.Request = withBody(http.MethodPatch, path, "application/merge-patch+json", String(`{"metadata":{"labels":{"a":"b"}}}`))
	case 3:
		c.Request = put(path, k.valid(name))
	case 4:
		c.Request = get(deployments.path(g.ns(), name) + pick(g, []string{"/status", "/scale"}))
	case 5:
		c.Request = post(k.collection(name), k.valid(name))
	default:
		c.Request = Request{Method: pick(g, []string{http.MethodGet, http.MethodDelete}), Path: namespaces.path("", name)}
	}
	c.What = c.Request.Method + " of a missing object"
	c.Want = []int{notFound}
}
