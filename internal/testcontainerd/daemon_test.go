package testcontainerd

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStartAnswersWithV16Daemon checks the v1.7 client talks to Debian's
// daemon, which a Skiff node runs, and that a namespace made with
// Namespace carries the picked snapshotter.
func TestStartAnswersWithV16Daemon(t *testing.T) {
	d := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := d.Client().Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	t.Logf("containerd %s (%s), snapshotter %s, socket %s", v.Version, v.Revision, d.Snapshotter, d.Address)
	if !strings.HasPrefix(strings.TrimPrefix(v.Version, "v"), "1.") {
		t.Errorf("version %q: want a 1.x daemon", v.Version)
	}
	if d.Snapshotter != "overlayfs" && d.Snapshotter != "native" {
		t.Errorf("Snapshotter = %q", d.Snapshotter)
	}
	if len(d.Address) >= 108 {
		t.Errorf("socket path is %d bytes, over the unix limit: %s", len(d.Address), d.Address)
	}
	nctx, err := d.Namespace(ctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := d.Client().NamespaceService().Labels(nctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	if got := labels["containerd.io/defaults/snapshotter"]; got != d.Snapshotter {
		t.Errorf("namespace default snapshotter = %q, want %q", got, d.Snapshotter)
	}
	// Namespace is idempotent.
	if _, err := d.Namespace(ctx, "skiff-test"); err != nil {
		t.Errorf("second Namespace: %v", err)
	}
}

// TestRestartKeepsState checks that after Restart the daemon answers on
// the same socket, through a new client, with its namespaces intact.
func TestRestartKeepsState(t *testing.T) {
	d := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := d.Namespace(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	before := d.Client()
	d.Restart(t)
	if d.Client() == before {
		t.Fatal("Restart kept the old client")
	}
	nss, err := d.Client().NamespaceService().List(ctx)
	if err != nil {
		t.Fatalf("List after restart: %v", err)
	}
	found := false
	for _, ns := range nss {
		found = found || ns == "kept"
	}
	if !found {
		t.Errorf("namespaces after restart = %v, want kept", nss)
	}
}

// BenchmarkStart measures a private daemon's start to first answer plus
// its cleanup, the fixed cost every integration test pays.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		d := Start(b)
		d.cleanup(b) // now rather than at the end: one daemon at a time
	}
}
