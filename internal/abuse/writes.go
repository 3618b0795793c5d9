package abuse

import (
	"fmt"
	"net/http"
	"strings"
)

// Classes about writes to existing objects, names and namespaces.

// staleResourceVersion: an update, patch or delete conditioned on a
// resourceVersion the object has left behind.
func (g *Generator) staleResourceVersion(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments})
	name := g.name()
	o := k.valid(name)
	changed := set(k.valid(name), "metadata.labels", obj{"changed": "yes"})
	c.Setup = []Request{g.create(k, name), put(k.path(g.ns(), name), changed)}
	stale := pick(g, []string{"1", "2", "3"})
	c.Want = []int{conflict}
	switch g.intn(5) {
	case 0:
		c.What = "update at resourceVersion " + stale
		c.Request = put(k.path(g.ns(), name), set(o, "metadata.resourceVersion", stale))
	case 1:
		c.What = "merge patch at resourceVersion " + stale
		c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), "application/merge-patch+json",
			String(`{"metadata":{"resourceVersion":"`+stale+`","labels":{"patched":"yes"}}}`))
	case 2:
		c.What = "delete with precondition resourceVersion " + stale
		c.Request = withBody(http.MethodDelete, k.path(g.ns(), name), "application/json",
			String(`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"`+stale+`"}}`))
	case 3:
		c.What = "delete with another uid as precondition"
		c.Request = withBody(http.MethodDelete, k.path(g.ns(), name), "application/json",
			String(`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-4000-8000-000000000000"}}`))
	default:
		c.What = "scale at resourceVersion " + stale
		name := name + "-d"
		c.Setup = []Request{g.create(deployments, name), put(deployments.path(g.ns(), name), set(deployments.valid(name), "spec.replicas", 2))}
		c.Request = put(deployments.path(g.ns(), name)+"/scale", obj{
			"apiVersion": "autoscaling/v1", "kind": "Scale",
			"metadata": obj{"name": name, "namespace": g.ns(), "resourceVersion": stale}, "spec": obj{"replicas": 5},
		})
	}
}

// badNames are names Kubernetes refuses for every kind.
var badNames = []string{
	"Bad_Name", "UPPER", "-lead", "trail-", "a..b", "a b", "a/b", "..", ".", strings.Repeat("a", 254),
	strings.Repeat("x", 5000), "ünïcode", "a%2Fb", "tab\tname", "new\nline", "a\x00b", "a:b", "a@b",
}

// invalidName: names, generateNames, labels, annotations and namespaces
// that validation refuses.
func (g *Generator) invalidName(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	bad := pick(g, badNames)
	c.Want = []int{invalid}
	switch g.intn(7) {
	case 0, 1:
		c.What = fmt.Sprintf("name %.40q", bad)
		c.Request = post(k.collection(g.ns()), k.valid(bad))
	case 2:
		if bad == "trail-" {
			bad = "trail_" // a dash is the usual end of a generateName
		}
		c.What = fmt.Sprintf("generateName %.40q", bad)
		o := k.valid(name)
		o["metadata"] = obj{"generateName": bad}
		c.Request = post(k.collection(g.ns()), o)
	case 3:
		key, value := pick(g, []string{"bad key", "a/b/c", "-x", strings.Repeat("k", 64), "ok"}), "v"
		if key == "ok" {
			value = pick(g, []string{"bad value", strings.Repeat("v", 64), "-x", "a/b"})
		}
		c.What = fmt.Sprintf("label %.40q=%.40q", key, value)
		c.Request = post(k.collection(g.ns()), set(k.valid(name), "metadata.labels", obj{key: value}))
	case 4:
		c.What = "annotations over 256 KiB"
		c.Request = post(k.collection(g.ns()), set(k.valid(name), "metadata.annotations", obj{"a": strings.Repeat("x", 256<<10+g.intn(1<<20))}))
	case 5:
		c.What = fmt.Sprintf("namespace %.40q", bad)
		c.Request = post(namespaces.collection(""), namespaces.valid(bad))
	default:
		// The object does not exist, so an update may also be 404. "."
		// and ".." cannot be put in a path: routers clean them away.
		if bad == "." || bad == ".." {
			bad = "Bad_Name"
		}
		c.What = fmt.Sprintf("update of name %.40q", bad)
		c.Request = put(k.path(g.ns(), bad), k.valid(bad))
		c.Want = []int{notFound, invalid}
	}
}

// namespaceMismatch: a body naming another namespace than the URL, or a
// namespaced create without a namespace.
func (g *Generator) namespaceMismatch(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	o := set(k.valid(name), "metadata.namespace", pick(g, []string{"kube-system", "default", "other", g.ns() + "x"}))
	switch g.intn(3) {
	case 0:
		c.What = "create in another namespace than the URL's"
		c.Request = post(k.collection(g.ns()), o)
		c.Want = []int{badRequest}
	case 1:
		c.What = "update in another namespace than the URL's"
		c.Request = put(k.path(g.ns(), name), o)
		c.Want = []int{badRequest}
	default:
		c.What = "create without a namespace in the URL"
		c.Request = post(k.prefix()+"/"+k.plural, k.valid(name))
		c.Want = []int{badRequest, notFound, notAllowed}
	}
}

// badPatches are patches that do not parse, do not apply or do not
// produce a valid object, by patch type.
var badPatches = map[string][]string{
	"application/json-patch+json": {
		`{"op":"add"}`, `[{"op":"add","path":"/data/x","value":`, `[{"op":"frobnicate","path":"/data/a"}]`,
		`[{"op":"remove","path":"/data/nope"}]`, `[{"op":"test","path":"/metadata/name","value":"other"}]`,
		`[{"op":"replace","path":"/metadata","value":"x"}]`, `[{"op":"add","path":"/metadata/labels","value":5}]`,
		`[{"op":"add","path":"metadata","value":{}}]`, `[{"op":"add"}]`, `[{"op":"move","from":"/nope","path":"/x"}]`,
		`[{"op":"replace","path":"","value":null}]`, `[{"op":"remove","path":""}]`, `[1,2,3]`, `"add"`,
		`[{"op":"add","path":"/metadata/labels/~2","value":"x"}]`, `[{"op":"copy","from":"/metadata","path":"/metadata/name"}]`,
		`[{"op":"replace","path":""}]`, `[{"op":"test","path":""}]`, `[{"op":"add","path":"/metadata/labels"}]`,
	},
	"application/merge-patch+json": {
		`{"metadata":`, `[1,2]`, `"str"`, `{"metadata":{"labels":5}}`, `{"kind":"Namespace"}`, `{"apiVersion":"v2"}`,
		`{"metadata":"x"}`, `{"metadata":{"labels":{"a":1}}}`, `{"kind":5}`, `{"metadata":{"name":5}}`,
	},
	"application/strategic-merge-patch+json": {
		`{"$patch":"bogus"}`, `{"metadata":{"labels":[]}}`, `{"metadata":{"$patch":"frob"}}`, `{"metadata":`,
		`[1]`, `{"kind":"Namespace"}`, `{"metadata":{"finalizers":"x"}}`, `{"metadata":{"$setElementOrder/finalizers":5}}`,
		// A list as the merge key of a list strategicpatch merges by key.
		`{"spec":{"template":{"spec":{"containers":[{"name":[]}]}}}}`,
	},
}

// badPatch: a patch of an existing object that does not parse, apply or
// yield a valid object.
func (g *Generator) badPatch(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments})
	name := g.name()
	ct := pick(g, []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"})
	p := pick(g, badPatches[ct])
	if strings.Contains(p, `"template"`) {
		k = deployments // a field only deployments have
	}
	c.What = fmt.Sprintf("%s %.60s", ct[len("application/"):len(ct)-len("+json")], p)
	c.Setup = []Request{g.create(k, name)}
	c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), ct, String(p))
	c.Want = []int{badRequest, invalid}
}

// badDeleteOptions: a delete of an existing object whose options are
// malformed, of another kind or out of range. It must not delete.
func (g *Generator) badDeleteOptions(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments})
	name := g.name()
	c.Setup = []Request{g.create(k, name)}
	path := k.path(g.ns(), name)
	body := pick(g, []string{
		`{"kind":"Pod","apiVersion":"v1"}`, `{"kind":"Status","apiVersion":"v1"}`, `[]`, `{"kind":"DeleteOptions",`,
		`{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Sideways"}`,
		`{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":"x"}`,
		`{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["all"]}`, `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":"All"}`,
		`{"kind":"DeleteOptions","apiVersion":"v9"}`, `{"kind":"Bogus","apiVersion":"v1"}`,
		`{"kind":"DeleteOptions","apiVersion":"v1","preconditions":[]}`,
	})
	c.What = "DeleteOptions " + body
	c.Request = withBody(http.MethodDelete, path, "application/json", String(body))
	c.Want = []int{badRequest, invalid}
	if g.intn(3) == 0 {
		q := pick(g, [][2]string{{"gracePeriodSeconds", "-1"}, {"gracePeriodSeconds", "soon"}, {"propagationPolicy", "Sideways"}, {"dryRun", "all"}, {"dryRun", "None"}})
		c.What = q[0] + "=" + q[1]
		c.Request = withBody(http.MethodDelete, query(path, q[0], q[1]), "", Body{})
	}
}

// badSubresource: bodies the scale, status and binding subresources
// refuse.
func (g *Generator) badSubresource(c *Case) {
	name := g.name()
	d := deployments.path(g.ns(), name)
	c.Setup = []Request{g.create(deployments, name)}
	c.Want = []int{badRequest, unsupported, invalid}
	switch n := g.intn(6); {
	case n == 0:
		c.What = "scale body of another kind"
		c.Request = withBody(http.MethodPut, d+"/scale", "application/json", String(pick(g, []string{`{"kind":"Pod","apiVersion":"v1"}`, `{"kind":"Deployment","apiVersion":"apps/v1"}`, `{"kind":"Status","apiVersion":"v1"}`})))
	case n == 1:
		c.What = "negative replicas"
		c.Request = put(d+"/scale", obj{"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": obj{"name": name}, "spec": obj{"replicas": -1 - g.intn(100)}})
	case n == 2:
		c.What = "scale patch"
		c.Request = withBody(http.MethodPatch, d+"/scale", pick(g, []string{"text/plain", "application/merge-patch+json"}), String(pick(g, []string{`{"spec":{"replicas":"3"}}`, `{"spec":{"replicas":-3}}`, `{"spec":{"replicas":3000000000}}`, `{`})))
	case n == 3 && g.opts.Validation:
		c.What = "invalid status"
		c.Request = withBody(http.MethodPatch, d+"/status", "application/merge-patch+json", String(`{"status":{"replicas":-3,"readyReplicas":-1}}`))
		c.Want = []int{invalid}
	default:
		c.What = "binding to something other than a node"
		c.Setup = nil
		body := pick(g, []string{`{"kind":"Pod","apiVersion":"v1"}`, `{"target":{"kind":"Service","name":"a"}}`, `{"target":{"kind":"Node"}}`, `[]`, `{"target":`})
		c.Request = withBody(http.MethodPost, pods.path(g.ns(), name)+"/binding", "application/json", String(body))
		c.Want = []int{badRequest}
	}
}

// wrongContentType: a body in a media type the endpoint does not take.
func (g *Generator) wrongContentType(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	body := Bytes(mustJSON(k.valid(name)))
	c.Want = []int{unsupported}
	if g.coin() {
		ct := pick(g, []string{"application/json", "text/plain", "", "application/yaml",
			"application/apply-patch+cbor", "application/xml", "application/merge-patch+json; =", "multipart/form-data; boundary=x"})
		c.What = fmt.Sprintf("patch as %q", ct)
		c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), ct, String(`{"metadata":{"labels":{"a":"b"}}}`))
		return
	}
	ct := pick(g, []string{"text/plain", "application/xml", "image/png", "multipart/form-data; boundary=x",
		"application/x-www-form-urlencoded", "application/merge-patch+json", "application/json-patch+json",
		"text/html", "application/octet-stream", "application/", ";", "garbage", "application/json/extra", "*/*"})
	c.What = fmt.Sprintf("body as %q", ct)
	c.Request = g.writeTo(k, name, ct, body)
}
