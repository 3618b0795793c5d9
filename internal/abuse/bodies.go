package abuse

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Classes about the body of a create or update.

// brokenJSON are bodies no JSON parser accepts.
var brokenJSON = []string{
	`{"apiVersion":"v1",}`, `{'apiVersion':'v1'}`, `{"a":NaN}`, `{"a":01}`, `{"a":1e}`, `{"a":"\x"}`,
	`{"a":"\u12"}`, "// comment\n{}", `{"a" 1}`, "\xff\xfe{}", `{"a":tru}`, `{"a":[1,]}`, `{`, `}`,
	`{"a":1}}`, `{"a":1} {"b":2}`, `"unterminated`, `{"a":"line` + "\n" + `break"}`, `[`, `{"a":-}`,
}

// malformedJSON: a valid object broken by truncation, a stray byte or a
// missing one, trailing garbage, or a body from brokenJSON.
func (g *Generator) malformedJSON(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	good := mustJSON(k.valid(name))
	var b []byte
	for range 8 {
		switch g.intn(5) {
		case 0:
			b, c.What = good[:g.intn(len(good))], "truncated JSON"
		case 1:
			i := g.intn(len(good) + 1)
			b, c.What = append(append(append([]byte{}, good[:i]...), pick(g, []byte(`{}[]:,"\`))), good[i:]...), "a stray byte"
		case 2:
			i := g.intn(len(good))
			b, c.What = append(append([]byte{}, good[:i]...), good[i+1:]...), "a missing byte"
		case 3:
			b, c.What = append(append([]byte{}, good...), pick(g, []string{"}", "x", ` {"a":1}`, ",", "]", "\x00"})...), "trailing garbage"
		default:
			b, c.What = []byte(pick(g, brokenJSON)), "broken JSON"
		}
		if !json.Valid(b) {
			break
		}
	}
	if json.Valid(b) {
		b, c.What = []byte(brokenJSON[0]), "broken JSON"
	}
	c.Request = g.writeTo(k, name, pick(g, []string{"application/json", ""}), Bytes(b))
	c.Want = []int{badRequest}
}

// brokenYAML are YAML documents that do not parse, or do not parse into an
// object.
var brokenYAML = []string{
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
	"apiVersion: v1\nkind: ConfigMap\ndata: {a: b\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"x\n",
	"apiVersion: v1\n kind: ConfigMap\nmetadata: x\n  name: y\n",
	"apiVersion: *nope\n",
	"- a\n- b\n",
	"just a string\n",
	"data: [1, 2\n",
	"a: \x01\n",
	"a: b: c\n",
	"{a: 1, a: 2, {\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: |\n v\n  - y\n",
	// Nine levels of nine aliases: a billion strings if expanded.
	"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" +
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" +
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n" +
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
}

// malformedYAML: a YAML body that does not parse into an object.
func (g *Generator) malformedYAML(c *Case) {
	k := pick(g, namespacedKinds)
	c.What = "broken YAML"
	c.Request = g.writeTo(k, g.name(), "application/yaml", String(pick(g, brokenYAML)))
	c.Want = []int{badRequest}
}

// wrongTypes are, per kind, fields set to a value of the wrong JSON type
// (or, for quantities and timestamps, an unparsable string).
var wrongTypes = map[string][]struct {
	path string
	v    any
}{
	"configmaps": {
		{"data", []any{"a"}}, {"data", obj{"k": 1}}, {"data", "s"}, {"metadata", []any{}}, {"metadata.name", 5},
		{"metadata.labels", "x"}, {"metadata.labels", obj{"a": 1}}, {"immutable", "yes"},
		{"binaryData", obj{"k": "not base64!"}}, {"apiVersion", 1}, {"kind", []any{}},
		{"metadata.annotations", []any{"a"}}, {"metadata.finalizers", "x"},
		{"metadata.creationTimestamp", "yesterday"}, {"metadata.generation", "one"},
	},
	"secrets": {
		{"data", obj{"k": "!!not base64"}}, {"data", []any{}}, {"type", 1}, {"stringData", "x"}, {"immutable", 0},
	},
	"pods": {
		{"spec.containers", obj{}}, {"spec.containers.0.image", 5}, {"spec.containers.0.ports.0.containerPort", "80"},
		{"spec.containers.0.resources", obj{"limits": obj{"cpu": "abc"}}}, {"spec.terminationGracePeriodSeconds", "x"},
		{"spec.nodeSelector", []any{"a"}}, {"spec.containers.0.env", "x"}, {"spec.hostNetwork", "true"},
		{"spec", "x"}, {"spec.containers.0.ports.0.containerPort", 1e12},
	},
	"services": {
		{"spec.ports.0.port", "80"}, {"spec.ports", obj{}}, {"spec.type", 5}, {"spec.ports.0.port", 1e10},
		{"spec.selector", []any{}}, {"spec.clusterIP", 10}, {"spec.ports.0.protocol", []any{}},
	},
	"deployments": {
		{"spec.replicas", "3"}, {"spec.replicas", 1.5}, {"spec.replicas", 1e20}, {"spec.selector", []any{}},
		{"spec.template.spec.containers", obj{}}, {"spec.strategy", obj{"type": 5}}, {"spec.minReadySeconds", "10"},
		{"spec.template.spec.containers.0.resources", obj{"limits": obj{"memory": "lots"}}}, {"spec.paused", "no"},
		{"spec.template", []any{}},
	},
}

// wrongType: a well-formed body with a field of the wrong type.
func (g *Generator) wrongType(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	w := pick(g, wrongTypes[k.plural])
	c.What = fmt.Sprintf("%s is a %T", w.path, w.v)
	ct, body := "application/json", mustJSON(set(k.valid(name), w.path, w.v))
	if g.intn(4) == 0 {
		ct = "application/yaml" // JSON is YAML
	}
	c.Request = g.writeTo(k, name, ct, Bytes(body))
	c.Want = []int{badRequest}
}

// unknownField: with fieldValidation=Strict, an unknown or duplicate
// field in a create, update or merge patch.
func (g *Generator) unknownField(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	paths := []string{"bogus", "metadata.bogus", "metadata.nmae", "metadata.labels_"}
	if k.plural == "pods" || k.plural == "deployments" || k.plural == "services" {
		paths = append(paths, "spec.bogus", "spec.replicaz")
	}
	if k.plural == "deployments" {
		paths = append(paths, "spec.template.spec.containers.0.imagePullPolicyy", "spec.template.spec.bogus")
	}
	path := pick(g, paths)
	c.Want = []int{badRequest}
	switch g.intn(4) {
	case 0:
		c.What = "a duplicate field"
		good := mustJSON(k.valid(name))
		body := append([]byte(`{"kind":"`+k.kind+`",`), good[1:]...)
		c.Request = g.writeTo(k, name, "application/json", Bytes(body))
	case 1:
		c.What = "unknown field " + path + " in a merge patch"
		c.Setup = []Request{g.create(k, name)}
		c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), "application/merge-patch+json", Bytes(mustJSON(set(obj{}, path, "x"))))
	default:
		c.What = "unknown field " + path
		c.Request = g.writeTo(k, name, pick(g, []string{"application/json", "application/yaml"}), Bytes(mustJSON(set(k.valid(name), path, "x"))))
	}
	c.Request.Path = query(c.Request.Path, "fieldValidation", "Strict")
}

// MaxBodySize is the request body limit servers are expected to enforce,
// kube-apiserver's 3 MiB.
const MaxBodySize = 3 << 20

// hugeBody: a body over MaxBodySize, up to 64 MiB, with or without a
// Content-Length, to every handler that reads a body. The server must
// answer 413 without holding the body.
func (g *Generator) hugeBody(c *Case) {
	size := int64(MaxBodySize + 1 + g.intn(61<<20))
	if g.intn(4) == 0 {
		size = MaxBodySize + 1 + int64(g.intn(1024))
	}
	k := pick(g, namespacedKinds)
	name := g.name()
	head := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q},"data":{"k":"`, k.apiVersion(), k.kind, name)
	tail := `"}}`
	body := String(head).Repeat([]byte("a"), size-int64(len(head)+len(tail))).Append([]byte(tail))
	body.Chunked = g.coin()
	ct := "application/json"
	var path, method string
	switch g.intn(7) {
	case 0, 1:
		method, path = http.MethodPost, k.collection(g.ns())
	case 2:
		method, path = http.MethodPut, k.path(g.ns(), name)
	case 3:
		method, path, ct = http.MethodPatch, k.path(g.ns(), name), pick(g, []string{"application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"})
	case 4:
		method, path = http.MethodDelete, k.path(g.ns(), name)
	case 5:
		method, path = http.MethodPut, deployments.path(g.ns(), name)+"/scale"
	default:
		method, path = http.MethodPost, pods.path(g.ns(), name)+"/binding"
	}
	c.What = fmt.Sprintf("a %d MiB body", size>>20)
	if body.Chunked {
		c.What += ", chunked"
	}
	c.Request = withBody(method, path, ct, body)
	c.Want = []int{tooLarge}
}

// storeLimits: objects within the body limit that the store cannot hold:
// a value over the store's command limit (1.5 MiB), or a service with more
// node ports than one store transaction holds.
func (g *Generator) storeLimits(c *Case) {
	name := g.name()
	if g.intn(4) == 0 {
		ports := make([]any, 127+g.intn(200))
		for i := range ports {
			ports[i] = obj{"name": fmt.Sprintf("p%d", i), "port": 1000 + i, "nodePort": 30000 + i}
		}
		o := set(services.valid(name), "spec.type", "NodePort")
		set(o, "spec.ports", ports)
		c.What = fmt.Sprintf("a service with %d node ports", len(ports))
		c.Request = post(services.collection(g.ns()), o)
		c.Want = []int{badRequest, invalid}
		return
	}
	k := pick(g, []kind{configMaps, secrets})
	size := int64(1536<<10 + g.intn(MaxBodySize-1536<<10-4096))
	head := fmt.Sprintf(`{"apiVersion":"v1","kind":%q,"metadata":{"name":%q},"data":{"k":"`, k.kind, name)
	tail := `"}}`
	body := String(head).Repeat([]byte("QUJD"), (size-int64(len(head)+len(tail)))/4).Append([]byte(tail))
	c.What = fmt.Sprintf("a %d KiB %s", size>>10, k.kind)
	if g.coin() {
		c.Setup = []Request{g.create(k, name)}
		c.Request = withBody(http.MethodPut, k.path(g.ns(), name), "application/json", body)
		c.What += " update"
	} else {
		c.Request = withBody(http.MethodPost, k.collection(g.ns()), "application/json", body)
	}
	c.Want = []int{tooLarge, invalid}
}

// deepNesting: JSON or YAML nested more than 10,000 levels, in a create,
// a patch or DeleteOptions.
func (g *Generator) deepNesting(c *Case) {
	depth := int64(10_000 + g.intn(50_000))
	open, close := []byte("["), []byte("]")
	if g.coin() {
		open, close = []byte(`{"a":`), []byte("}")
	}
	nested := func(head, tail string) Body {
		b := String(head).Repeat(open, depth)
		if string(close) == "}" {
			b = b.Append([]byte("1"))
		}
		return b.Repeat(close, depth).Append([]byte(tail))
	}
	k := pick(g, namespacedKinds)
	name := g.name()
	meta := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":%q},`, k.apiVersion(), k.kind, name)
	c.What = fmt.Sprintf("%d levels", depth)
	c.Want = []int{badRequest}
	switch g.intn(6) {
	case 0:
		c.What += " in an unknown field"
		c.Request = g.writeTo(k, name, "application/json", nested(meta+`"extra":`, "}"))
	case 1:
		c.What += " in metadata.annotations"
		c.Request = g.writeTo(k, name, "application/json", nested(meta[:len(meta)-2]+`,"annotations":{"a":`, "}}}"))
	case 2:
		c.What += " in YAML"
		open, close = []byte("["), []byte("]")
		c.Request = g.writeTo(k, name, "application/yaml", nested(fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\nextra: ", k.apiVersion(), k.kind, name), "\n"))
	case 3:
		c.What += " in a merge patch"
		c.Setup = []Request{g.create(k, name)}
		c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), pick(g, []string{"application/merge-patch+json", "application/strategic-merge-patch+json"}), nested(`{"metadata":{"annotations":{"a":`, "}}}"))
	case 4:
		c.What += " in a JSON patch"
		c.Setup = []Request{g.create(k, name)}
		c.Request = withBody(http.MethodPatch, k.path(g.ns(), name), "application/json-patch+json", nested(`[{"op":"add","path":"/metadata/annotations","value":`, "}]"))
	default:
		c.What += " in DeleteOptions"
		c.Setup = []Request{g.create(k, name)}
		c.Request = withBody(http.MethodDelete, k.path(g.ns(), name), "application/json", nested(`{"kind":"DeleteOptions","apiVersion":"v1","extra":`, "}"))
	}
}

// wrongKind: a body of another kind or an unknown apiVersion.
func (g *Generator) wrongKind(c *Case) {
	k := pick(g, namespacedKinds)
	name := g.name()
	o := k.valid(name)
	switch g.intn(4) {
	case 0:
		other := pick(g, namespacedKinds)
		if other.kind == k.kind {
			other = namespaces
		}
		o["apiVersion"], o["kind"] = other.apiVersion(), other.kind
	case 1:
		o["apiVersion"] = pick(g, []string{"v2", "apps/v2", "bogus.io/v1", "v1beta1", "a/b/c"})
	case 2:
		o["kind"] = pick(g, []string{"Bogus", "configmap", "ConfigMapList", "Status", "DeleteOptions", "List"})
	default:
		o["apiVersion"] = pick(g, []string{"apps/v1", "v1", "policy/v1"})
		if o["apiVersion"] == k.apiVersion() {
			o["apiVersion"] = "autoscaling/v1"
		}
	}
	c.What = fmt.Sprintf("a %s %s sent to %s", o["apiVersion"], o["kind"], k.plural)
	c.Request = g.writeTo(k, name, "application/json", Bytes(mustJSON(o)))
	c.Want = []int{badRequest}
}

// alreadyExists: a create of an object that exists.
func (g *Generator) alreadyExists(c *Case) {
	k := pick(g, []kind{configMaps, secrets, deployments})
	name := g.name()
	c.What = "create of an existing " + k.kind
	c.Setup = []Request{g.create(k, name)}
	o := k.valid(name)
	if g.coin() {
		set(o, "metadata.labels", obj{"changed": "yes"})
	}
	c.Request = post(k.collection(g.ns()), o)
	c.Want = []int{conflict}
}
