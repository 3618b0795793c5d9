// Package worktest holds what the worker's integration tests share: the
// test program's image, built once per test binary and imported into a
// private containerd.
package worktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/internal/testcontainerd"
)

// Image is the reference of worker/internal/testapp's image.
const Image = "skiff.test/testapp:v1"

// Namespace is the worker's containerd namespace (worker/containerd's).
const Namespace = "skiff"

// builder builds the archive once; tests of one binary share it.
type builder struct {
	once sync.Once
	path string
	err  error
}

// Archive builds the test program's image archive, once per process
// (the only state shared between tests, and it never changes once built).
func (b *builder) archive(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "testapp-img-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "testapp.tar")
		_, self, _, _ := runtime.Caller(0)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_, b.err = ociimage.Build(ctx, ociimage.Options{
			MainPackage: filepath.Join(filepath.Dir(self), "..", "testapp"), Ref: Image, Output: b.path,
		})
	})
	if b.err != nil {
		t.Fatalf("build test image: %v", b.err)
	}
	return b.path
}

// Builder returns a builder; keep one per test binary (in TestMain or a
// package variable of the test) so the image is built once.
func Builder() *builder { return &builder{} }

// Containerd starts a private containerd with the test image imported
// into the worker's namespace, and returns it with a client of its own
// (which, unlike the daemon's, survives d.Restart: grpc reconnects).
func Containerd(t testing.TB, b *builder) (*testcontainerd.Daemon, *containerd.Client) {
	t.Helper()
	d := testcontainerd.Start(t)
	ctx, err := d.Namespace(context.Background(), Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ociimage.ImportFile(ctx, d.Client(), b.archive(t), d.Snapshotter); err != nil {
		t.Fatal(err)
	}
	c, err := containerd.New(d.Address, containerd.WithDefaultNamespace(Namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return d, c
}

// RequireCNI skips (or, with SKIFF_REQUIRE_WORKER=1, fails) a test when
// the CNI plugins are missing.
func RequireCNI(t testing.TB) {
	t.Helper()
	testcontainerd.SkipUnlessAvailable(t)
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		if os.Getenv(testcontainerd.RequireEnv) == "1" {
			t.Fatalf("CNI plugins missing in /usr/lib/cni and %s=1 forbids skipping", testcontainerd.RequireEnv)
		}
		t.Skip("CNI plugins missing in /usr/lib/cni (apt-get install containernetworking-plugins)")
	}
}

// Bridge returns a bridge name of the test's own (pods of tests running at
// once must not share a bridge with another pod CIDR) and deletes the
// bridge when the test ends.
func Bridge(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "skt" + hex.EncodeToString(b[:])
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	return name
}
