package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/controller/deployment"
)

const kubectlManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: app:v1
`

// TestKubectlRollout drives a deployment with the real kubectl: rollout
// status returns, set image + rollout status, rollout history lists both
// revisions, rollout undo returns to the first template, rollout restart
// rolls again, get all shows the workload, and delete namespace returns
// once the namespace is gone.
func TestKubectlRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "kubectl"
	e.namespace(t, ctx, ns)
	k := newKubectl(t, e.c, ns)
	k.mustStdin(kubectlManifest, "apply", "-f", "-")
	if out := k.must("rollout", "status", "deployment/web", "--timeout=60s"); !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status: %s", out)
	}
	k.must("set", "image", "deployment/web", "web=app:v2")
	if out := k.must("rollout", "status", "deployment/web", "--timeout=60s"); !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status after set image: %s", out)
	}
	hist := k.must("rollout", "history", "deployment/web")
	if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
		t.Fatalf("rollout history lacks revisions 1 and 2:\n%s", hist)
	}
	k.must("rollout", "undo", "deployment/web")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	d, err := e.kc.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "app:v1" || d.Annotations[deployment.RevisionAnnotation] != "3" {
		t.Fatalf("after undo: %v image %s revision %s", err, d.Spec.Template.Spec.Containers[0].Image, d.Annotations[deployment.RevisionAnnotation])
	}
	k.must("rollout", "restart", "deployment/web")
	k.must("rollout", "status", "deployment/web", "--timeout=60s")
	d, err = e.kc.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.Annotations[deployment.RevisionAnnotation] != "4" {
		t.Fatalf("after restart: %v revision %s", err, d.Annotations[deployment.RevisionAnnotation])
	}
	all := k.must("get", "all")
	for _, want := range []string{"deployment.apps/web", "replicaset.apps/web-", "pod/web-"} {
		if !strings.Contains(all, want) {
			t.Errorf("kubectl get all lacks %s:\n%s", want, all)
		}
	}
	k.must("delete", "namespace", ns, "--timeout=60s")
	if _, err := e.kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("kubectl delete namespace returned before the namespace was gone: %v", err)
	}
}
