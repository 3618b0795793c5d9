package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/namespaces"

	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
)

func TestImageImportLoadsArchiveIntoNamespace(t *testing.T) {
	d := testcontainerd.Start(t)
	img := testimages.Image(t, testimages.Exit)
	r := runCLI(t, nil, "image", "import", img.Path, "--containerd-socket", d.Address)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "imported skiff.test/exit:v1 (" + img.Manifest.Digest.String() + ") into namespace skiff"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "skiff"), time.Minute)
	defer cancel()
	got, err := d.Client().GetImage(ctx, "skiff.test/exit:v1")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := got.IsUnpacked(ctx, "overlayfs"); err != nil || !ok {
		t.Errorf("IsUnpacked(overlayfs) = %v, %v", ok, err)
	}
}

func TestImageImportErrors(t *testing.T) {
	notArchive := filepath.Join(t.TempDir(), "x.tar")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"image", "import"}, 2, "takes 1 argument"},
		{"missing file", []string{"image", "import", "/nonexistent.tar"}, 1, "no such file"},
		{"empty namespace", []string{"image", "import", notArchive, "--namespace", ""}, 1, "--namespace"},
		{"no daemon", []string{"image", "import", testimages.Path(t, testimages.Exit), "--containerd-socket", "/nonexistent.sock"}, 1, "--containerd-socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}
