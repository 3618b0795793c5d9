package testcluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// appManifest is what a user applies: a Deployment, its Service and a
// ConfigMap, in the kubeconfig's namespace.
const appManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
`

// TestKubectl drives Skiff with unchanged kubectl binaries, a current one
// and 1.20, through a follower of a three-server cluster: what a user does
// with a Deployment, a Service and a ConfigMap.
func TestKubectl(t *testing.T) {
	binaries := []struct {
		name     string
		env      string
		fallback func() (string, error)
		// serverValidation: the binary leaves validation to the server
		// (fieldValidation=Strict) instead of validating against
		// OpenAPI schemas, which Skiff does not publish.
		serverValidation bool
		path             string
		err              error
	}{
		{name: "machine", env: envKubectl, fallback: machineKubectl, serverValidation: true},
		{name: "1.20", env: envKubectlOld, fallback: oldKubectl},
	}
	var missing []error
	for i := range binaries {
		b := &binaries[i]
		if b.path, b.err = findKubectl(b.env, b.fallback); b.err != nil {
			missing = append(missing, b.err)
		}
	}
	if len(missing) == len(binaries) {
		skipUnlessRequired(t, errors.Join(missing...))
	}

	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % c.N()
	// The leader creates the system namespaces after its election, the
	// last one last.
	if err := c.WaitFor(ctx, func() bool {
		code, _, err := c.Do(ctx, follower, "GET", "/api/v1/namespaces/kube-node-lease", nil)
		return err == nil && code == http.StatusOK
	}); err != nil {
		t.Fatalf("system namespaces: %v", err)
	}
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			if b.err != nil {
				skipUnlessRequired(t, b.err)
			}
			ns := "kubectl-" + strings.ReplaceAll(b.name, ".", "-")
			// What the server wrote for its admin works as it is.
			admin := filepath.Join(c.Dir(), fmt.Sprintf("s%d", follower+1), server.AdminKubeconfig)
			k := newKubectl(t, b.path, admin)
			t.Logf("%s: %s", b.path, strings.TrimSpace(k.must("", "version", "--client")))
			wantLines(t, "get ns with "+admin, k.must("", "get", "namespace", "default"), "default", "Active")

			k = newKubectl(t, b.path, writeKubeconfig(t, c.URL(follower), c.CA(), c.AdminToken(), ns))
			testKubectl(t, k, ns, b.serverValidation)
		})
	}
}

func testKubectl(t *testing.T, k *kubectl, ns string, serverValidation bool) {
	edited := strings.Replace(appManifest, "greeting: hello", "greeting: bonjour", 1)

	wantLines(t, "version", k.must("", "version"), "Client Version", "Server Version")
	wantLines(t, "api-resources", k.must("", "api-resources"), "configmaps", "deployments", "apps/v1", "namespaces")
	wantLines(t, "create namespace", k.must("", "create", "namespace", ns), "namespace/"+ns+" created")

	out := k.quiet(appManifest, "create", "-f", "-")
	wantLines(t, "create -f", out, "deployment.apps/web created", "service/web created", "configmap/web-config created")

	t.Run("get tables", func(t *testing.T) {
		tables := parseTables(t, k.must("", "get", "deploy,svc,cm,ns"))
		d := tables["deployment.apps"].row(t, "deployment.apps/web")
		if d["READY"] != "0/1" || d["UP-TO-DATE"] != "0" || d["AVAILABLE"] != "0" || d["AGE"] == "" {
			t.Errorf("deployment row %v", d)
		}
		s := tables["service"].row(t, "service/web")
		if s["TYPE"] != "ClusterIP" || !strings.Contains(s["CLUSTER-IP"], ".") || s["EXTERNAL-IP"] != "<none>" || s["PORT(S)"] != "80/TCP" {
			t.Errorf("service row %v", s)
		}
		if cm := tables["configmap"].row(t, "configmap/web-config"); cm["DATA"] != "1" {
			t.Errorf("configmap row %v", cm)
		}
		for _, name := range []string{"default", "kube-system", ns} {
			if r := tables["namespace"].row(t, "namespace/"+name); r["STATUS"] != "Active" {
				t.Errorf("namespace row %v", r)
			}
		}
		out, errOut, code := k.run("", "get", "pods", "-A")
		if code != 0 || out != "" || !strings.Contains(errOut, "No resources found") {
			t.Errorf("get pods -A: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("get -o yaml and json", func(t *testing.T) {
		var fromYAML, fromJSON corev1.ConfigMap
		if err := yaml.UnmarshalStrict([]byte(k.must("", "get", "cm", "web-config", "-o", "yaml")), &fromYAML); err != nil {
			t.Fatalf("-o yaml: %v", err)
		}
		k.getJSON(&fromJSON, "cm", "web-config")
		for _, cm := range []corev1.ConfigMap{fromYAML, fromJSON} {
			if cm.Kind != "ConfigMap" || cm.Namespace != ns || cm.UID == "" || cm.ResourceVersion == "" || cm.Data["greeting"] != "hello" {
				t.Errorf("configmap %+v", cm)
			}
		}
		if fromYAML.UID != fromJSON.UID || fromYAML.ResourceVersion != fromJSON.ResourceVersion {
			t.Errorf("yaml and json differ: %v %v", fromYAML.ObjectMeta, fromJSON.ObjectMeta)
		}
	})

	t.Run("apply", func(t *testing.T) {
		// The objects were created without the last-applied annotation:
		// the first apply adds it.
		wantLines(t, "first apply", k.must(appManifest, "apply", "-f", "-"), "configmap/web-config configured")
		var cm corev1.ConfigMap
		k.getJSON(&cm, "cm", "web-config")
		var last map[string]any
		if err := json.Unmarshal([]byte(cm.Annotations[corev1.LastAppliedConfigAnnotation]), &last); err != nil || last["kind"] != "ConfigMap" || last["data"].(map[string]any)["greeting"] != "hello" {
			t.Fatalf("last-applied annotation %q: %v", cm.Annotations[corev1.LastAppliedConfigAnnotation], err)
		}
		before := k.resourceVersions()
		out := k.quiet(appManifest, "apply", "-f", "-")
		wantLines(t, "second apply", out, "deployment.apps/web unchanged", "service/web unchanged", "configmap/web-config unchanged")
		if after := k.resourceVersions(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a no-op apply changed resourceVersions: %v, then %v", before, after)
		}

		// kubectl diff dry-runs the patch on the server and compares.
		if out, errOut, code := k.run(appManifest, "diff", "-f", "-"); code != 0 {
			t.Errorf("diff of the applied manifest: exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code := k.run(edited, "diff", "-f", "-")
		if code != 1 || !strings.Contains(out, "-  greeting: hello") || !strings.Contains(out, "+  greeting: bonjour") {
			t.Errorf("diff of the edited manifest: exit %d, want 1 and the change\n%s%s", code, out, errOut)
		}

		out = k.quiet(edited, "apply", "-f", "-")
		wantLines(t, "apply of an edit", out, "deployment.apps/web unchanged", "service/web unchanged", "configmap/web-config configured")
		k.getJSON(&cm, "cm", "web-config")
		if cm.Data["greeting"] != "bonjour" || !strings.Contains(cm.Annotations[corev1.LastAppliedConfigAnnotation], "bonjour") {
			t.Errorf("after applying the edit: data %v, annotations %v", cm.Data, cm.Annotations)
		}
	})

	t.Run("unknown field", func(t *testing.T) {
		bad := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndata:\n  a: b\ndatta:\n  c: d\n"
		if serverValidation {
			// kubectl asks for strict validation by the server, which
			// refuses the field on create (POST) and on apply to an
			// existing object (PATCH).
			if out, errOut, code := k.run(bad, "create", "-f", "-"); code == 0 || !strings.Contains(errOut, `unknown field "datta"`) {
				t.Errorf("create with an unknown field: exit %d\n%s%s", code, out, errOut)
			}
			k.must("", "create", "configmap", "typo", "--from-literal=a=b")
			if out, errOut, code := k.run(bad, "apply", "-f", "-"); code == 0 || !strings.Contains(errOut, `unknown field "datta"`) {
				t.Errorf("apply with an unknown field: exit %d\n%s%s", code, out, errOut)
			}
		} else {
			// Without schemas to validate against, kubectl 1.20 sends
			// it; the server drops the field with a warning.
			if out, errOut, code := k.run(bad, "create", "-f", "-"); code != 0 || !strings.Contains(errOut, `Warning: `) || !strings.Contains(errOut, `unknown field "datta"`) {
				t.Errorf("create with an unknown field: exit %d\n%s%s", code, out, errOut)
			}
		}
		k.must("", "delete", "cm", "typo")
	})

	t.Run("scale", func(t *testing.T) {
		wantLines(t, "scale", k.must("", "scale", "deployment", "web", "--replicas=3"), "deployment.apps/web scaled")
		var d appsv1.Deployment
		k.getJSON(&d, "deployment", "web")
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 || d.Generation != 2 {
			t.Errorf("after scale: replicas %v, generation %d", d.Spec.Replicas, d.Generation)
		}
		// As in Kubernetes, the next apply sets the manifest's replicas
		// again: a three-way patch changes what differs from the live
		// object.
		wantLines(t, "apply after scale", k.must(edited, "apply", "-f", "-"), "deployment.apps/web configured", "configmap/web-config unchanged")
		if got := k.must("", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "1" {
			t.Errorf("replicas after apply: %s, want 1", got)
		}
	})

	t.Run("label and annotate", func(t *testing.T) {
		wantLines(t, "label", k.must("", "label", "cm", "web-config", "tier=backend"), "configmap/web-config labeled")
		wantLines(t, "annotate", k.must("", "annotate", "cm", "web-config", "note=hi"), "configmap/web-config annotated")
		var cm corev1.ConfigMap
		k.getJSON(&cm, "cm", "web-config")
		if cm.Labels["tier"] != "backend" || cm.Annotations["note"] != "hi" || cm.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
			t.Errorf("labels %v, annotations %v", cm.Labels, cm.Annotations)
		}
		wantLines(t, "get -l", k.must("", "get", "cm", "-l", "tier=backend", "-o", "name"), "configmap/web-config")
	})

	t.Run("delete", func(t *testing.T) {
		out := k.must(appManifest, "delete", "-f", "-")
		wantLines(t, "delete -f", out, `deployment.apps "web" deleted`, `service "web" deleted`, `configmap "web-config" deleted`)
		wantLines(t, "create configmap", k.must("", "create", "configmap", "x", "--from-literal=k=v"), "configmap/x created")
		wantLines(t, "delete cm", k.must("", "delete", "cm", "x"), `configmap "x" deleted`)
		if out, errOut, code := k.run("", "get", "cm", "x"); code != 1 || !strings.Contains(errOut, "NotFound") {
			t.Errorf("get after delete: exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code := k.run("", "get", "deploy,svc,cm")
		if code != 0 || out != "" || !strings.Contains(errOut, "No resources found in "+ns) {
			t.Errorf("get after deletes: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}
