package proc

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWorkloadScenario walks the deployment workflow on real processes
// (three servers from config files, two workers each in its own network
// namespace with its own containerd) with the skiff CLI, then breaks
// things.
func TestWorkloadScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	c := startWorkload(t, ctx)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The test talks to a follower, so killing the leader later leaves
	// its own server up.
	api := (leader + 1) % c.N()
	kube, err := c.Kube(api)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := DemoManifest()
	if err != nil {
		t.Fatal(err)
	}

	// Apply the demo: every replica Running and Ready, on both workers.
	if out, err := c.CLI(ctx, api, "apply", "-f", manifest); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("skiff apply:\n%s", out)
	}
	r, err := waitReplicas(ctx, kube, 3, DemoV1, 2)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kube.CoreV1().Services("default").Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/version", svc.Spec.ClusterIP)

	// The ClusterIP answers from every replica, seen from each worker.
	for w := range c.Workers() {
		client, err := c.WorkerHTTPClient(w)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := answerers(ctx, client, url, r.names(), 200)
		if err != nil {
			t.Fatalf("from %s: %v", WorkerName(w), err)
		}
		t.Logf("from %s the Service answered from %v", WorkerName(w), seen)
	}
}
