package testcluster_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/testcluster"
)

// ssaDeployment is a Deployment with the given name and replica count.
func ssaDeployment(name, replicas string) string {
	return strings.NewReplacer("NAME", name, "REPLICAS", replicas).Replace(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
      - name: app
        image: nginx:1.27
`)
}

// TestKubectlServerSideApply drives `kubectl apply --server-side` (the
// machine's kubectl, 1.32): apply creates and is idempotent, a second
// field manager changing a field the first owns gets Kubernetes' conflict
// message and takes the field with --force-conflicts, and a client-side
// apply's fields are owned by kubectl-client-side-apply.
func TestKubectlServerSideApply(t *testing.T) {
	path, err := findKubectl(envKubectl, machineKubectl)
	if err != nil {
		skipUnlessRequired(t, err)
	}
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Leader(ctx); err != nil {
		t.Fatal(err)
	}
	const ns = "ssa"
	k := newKubectl(t, path, writeKubeconfig(t, c.URL(0), c.CA(), c.AdminToken(), ns))
	if err := c.WaitFor(ctx, func() bool {
		_, _, code := k.run("", "get", "namespace", "default")
		return code == 0
	}); err != nil {
		t.Fatalf("API not serving: %v", err)
	}
	k.must("", "create", "namespace", ns)

	wantLines(t, "first apply", k.quiet(ssaDeployment("web", "1"), "apply", "--server-side", "-f", "-"), "deployment.apps/web serverside-applied")
	rv := k.must("", "get", "deploy/web", "-o", "jsonpath={.metadata.resourceVersion} {.metadata.generation}")
	k.quiet(ssaDeployment("web", "1"), "apply", "--server-side", "-f", "-")
	if again := k.must("", "get", "deploy/web", "-o", "jsonpath={.metadata.resourceVersion} {.metadata.generation}"); again != rv {
		t.Errorf("an identical apply changed resourceVersion and generation: %s, then %s", rv, again)
	}
	var d appsv1.Deployment
	getWithManagers(t, k, &d, "web")
	if e := findManager(d.ManagedFields, "kubectl"); e == nil || e.Operation != metav1.ManagedFieldsOperationApply || !strings.Contains(string(e.FieldsV1.Raw), "f:replicas") {
		t.Errorf("managedFields after apply: %+v", d.ManagedFields)
	}

	out, errOut, code := k.run(ssaDeployment("web", "3"), "apply", "--server-side", "--field-manager=ops", "-f", "-")
	if code == 0 || !strings.Contains(errOut, `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`) {
		t.Errorf("conflicting apply: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	wantLines(t, "forced apply", k.quiet(ssaDeployment("web", "3"), "apply", "--server-side", "--field-manager=ops", "--force-conflicts", "-f", "-"), "deployment.apps/web serverside-applied")
	getWithManagers(t, k, &d, "web")
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d after the forced apply, want 3", *d.Spec.Replicas)
	}
	if e := findManager(d.ManagedFields, "kubectl"); e == nil || strings.Contains(string(e.FieldsV1.Raw), "f:replicas") {
		t.Errorf("kubectl still owns replicas after ops forced them: %+v", d.ManagedFields)
	}

	// A client-side apply's manager is kubectl-client-side-apply.
	k.quiet(ssaDeployment("csa", "1"), "apply", "-f", "-")
	out, errOut, code = k.run(ssaDeployment("csa", "2"), "apply", "--server-side", "--field-manager=ops", "-f", "-")
	if code == 0 || !strings.Contains(errOut, `conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`) {
		t.Errorf("server-side apply over client-side apply: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// getWithManagers reads a deployment with its managedFields, which
// kubectl hides by default.
func getWithManagers(t *testing.T, k *kubectl, d *appsv1.Deployment, name string) {
	t.Helper()
	*d = appsv1.Deployment{}
	if err := json.Unmarshal([]byte(k.must("", "get", "deploy", name, "-o", "json", "--show-managed-fields")), d); err != nil {
		t.Fatal(err)
	}
}

func findManager(entries []metav1.ManagedFieldsEntry, manager string) *metav1.ManagedFieldsEntry {
	for i := range entries {
		if entries[i].Manager == manager {
			return &entries[i]
		}
	}
	return nil
}
