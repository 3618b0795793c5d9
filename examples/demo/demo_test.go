package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestDemoAnswers(t *testing.T) {
	var draining atomic.Bool
	srv := httptest.NewServer(newMux("demo-abc", "v7", &draining))
	defer srv.Close()
	for _, tc := range []struct {
		drain      bool
		path, want string
		code       int
	}{
		{false, "/", "version <b>v7</b>", 200},
		{false, "/healthz", "ok\n", 200},
		{false, "/version", "v7 demo-abc\n", 200},
		{false, "/nope", "404", 404},
		// Draining (after SIGTERM): not ready, but still serving.
		{true, "/healthz", "draining", 503},
		{true, "/version", "v7 demo-abc\n", 200},
	} {
		draining.Store(tc.drain)
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s = %d %q, want %d and %q", tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
	}
}

// TestDeploymentManifestMatchesTheImage decodes deployment.yaml strictly
// and checks it names the image make demo-image builds and probes a path
// the app serves.
func TestDeploymentManifestMatchesTheImage(t *testing.T) {
	b, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(b, []byte("\n---\n"))
	if len(docs) != 2 {
		t.Fatalf("deployment.yaml has %d documents, want a Deployment and a Service", len(docs))
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(docs[0], &dep); err != nil {
		t.Fatalf("Deployment: %v", err)
	}
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(docs[1], &svc); err != nil {
		t.Fatalf("Service: %v", err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "skiff.local/demo:v1" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s pull %s", c.Image, c.ImagePullPolicy)
	}
	if *dep.Spec.Replicas != 3 || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("replicas %d probe %+v", *dep.Spec.Replicas, c.ReadinessProbe.HTTPGet)
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Selector["app"] != dep.Spec.Template.Labels["app"] {
		t.Errorf("service %+v does not select the deployment's pods", svc.Spec)
	}
}
