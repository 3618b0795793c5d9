package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/skiffhq/skiff/internal/ociimage"
)

// Build compiles the skiff binary into dir with the given build tags and
// returns its path. It runs from the module root, which it finds with
// `go env GOMOD`, so tests in any package can call it.
func Build(dir string, tags ...string) (string, error) {
	goBin := goCommand()
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "skiff")
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./cmd/skiff")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		return "/usr/local/go/bin/go"
	}
	return "go"
}

// moduleRoot returns the directory of the skiff module.
func moduleRoot() (string, error) {
	mod, err := exec.Command(goCommand(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(mod))), nil
}

// Demo image references, as `make demo-image` builds them.
const (
	DemoV1 = "skiff.local/demo:v1"
	DemoV2 = "skiff.local/demo:v2"
)

// DemoManifest returns the path of examples/demo/deployment.yaml.
func DemoManifest() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "examples", "demo", "deployment.yaml"), nil
}

// BuildDemoImages builds the demo app of examples/demo into dir as the
// archives `make demo-image` writes (demo-image.tar, skiff.local/demo:v1;
// demo-image-v2.tar, skiff.local/demo:v2, differing only in VERSION) and
// returns their paths, for Options.WorkerImages.
func BuildDemoImages(ctx context.Context, dir string) ([]string, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, v := range []struct{ ref, version, file string }{
		{DemoV1, "v1", "demo-image.tar"},
		{DemoV2, "v2", "demo-image-v2.tar"},
	} {
		img, err := ociimage.Build(ctx, ociimage.Options{
			MainPackage:  filepath.Join(root, "examples", "demo"),
			Ref:          v.ref,
			Env:          []string{"VERSION=" + v.version},
			ExposedPorts: []string{"8080"},
			Output:       filepath.Join(dir, v.file),
		})
		if err != nil {
			return nil, fmt.Errorf("demo image %s: %w", v.ref, err)
		}
		paths = append(paths, img.Path)
	}
	return paths, nil
}
