package ociimage_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/internal/testcontainerd"
)

const helloSource = `package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("hello %s %v\n", os.Getenv("GREETING"), os.Args[1:])
}
`

// TestImportedImageRuns imports a built archive into a real containerd and
// runs it: the image's entrypoint, cmd and env reach the process, and it
// exits 0.
func TestImportedImageRuns(t *testing.T) {
	d := testcontainerd.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := ociimage.Build(ctx, ociimage.Options{
		Source: helloSource,
		Ref:    "skiff.test/hello:v1",
		Env:    []string{"GREETING=from-image"},
		Cmd:    []string{"a", "b"},
		Output: filepath.Join(t.TempDir(), "hello.tar"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, err = d.Namespace(ctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	imgs, err := ociimage.ImportFile(ctx, c, img.Path, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Name != "skiff.test/hello:v1" || imgs[0].Target.Digest != img.Manifest.Digest {
		t.Fatalf("imported %+v, want skiff.test/hello:v1 at %s", imgs, img.Manifest.Digest)
	}
	// A second import of the same archive is harmless.
	if _, err := ociimage.ImportFile(ctx, c, img.Path, ""); err != nil {
		t.Fatalf("second import: %v", err)
	}

	image, err := c.GetImage(ctx, "skiff.test/hello:v1")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := c.NewContainer(ctx, "hello",
		containerd.WithNewSnapshot("hello-snap", image),
		containerd.WithNewSpec(oci.WithImageConfig(image)))
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Delete(ctx, containerd.WithSnapshotCleanup)
	var stdout, stderr bytes.Buffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr)))
	if err != nil {
		t.Fatal(err)
	}
	defer task.Delete(ctx)
	// Wait before Start, so the exit cannot be missed.
	exitCh, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var st containerd.ExitStatus
	select {
	case st = <-exitCh:
	case <-ctx.Done():
		t.Fatal("task did not exit")
	}
	code, _, err := st.Result()
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v; stderr %q", code, err, stderr.String())
	}
	// The task's IO is copied asynchronously; Delete closes it, after
	// which stdout is complete.
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(stdout.String()), "hello from-image [a b]"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}
