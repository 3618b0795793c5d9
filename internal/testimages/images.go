package testimages

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/ociimage"
)

// Program names one test image.
type Program string

// The test images.
const (
	Serve Program = "serve"
	Exit  Program = "exit"
	Crash Program = "crash"
)

// Ref is the image name of p, e.g. "skiff.test/serve:v1".
func (p Program) Ref() string { return "skiff.test/" + string(p) + ":v1" }

var (
	//go:embed serve/main.go
	serveSource string
	//go:embed exit/main.go
	exitSource string
	//go:embed crash/main.go
	crashSource string
)

// options returns how p's image is built.
func (p Program) options() (ociimage.Options, error) {
	o := ociimage.Options{Ref: p.Ref(), BinaryName: string(p)}
	switch p {
	case Serve:
		o.Source = serveSource
		o.Env = []string{"PORT=8080"}
		o.ExposedPorts = []string{"8080/tcp"}
	case Exit:
		o.Source = exitSource
	case Crash:
		o.Source = crashSource
	default:
		return o, fmt.Errorf("testimages: unknown program %q", p)
	}
	return o, nil
}

// buildTimeout bounds one image build: a cold Go build cache on a loaded
// two-core machine takes tens of seconds.
const buildTimeout = 5 * time.Minute

// Image returns p's archive, building it if the cache lacks it. It fails
// t if the build fails.
func Image(t testing.TB, p Program) ociimage.Image {
	t.Helper()
	img, err := Build(context.Background(), p)
	if err != nil {
		t.Fatalf("testimages: %v", err)
	}
	return img
}

// Path is Image(t, p).Path: the archive file to import.
func Path(t testing.TB, p Program) string {
	t.Helper()
	return Image(t, p).Path
}

// Build returns p's archive from the cache, building it first if needed.
// It is for callers without a testing.TB (benchmarks' setup, tools).
func Build(ctx context.Context, p Program) (ociimage.Image, error) {
	o, err := p.options()
	if err != nil {
		return ociimage.Image{}, err
	}
	dir := filepath.Join(os.TempDir(), "skiff-testimages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ociimage.Image{}, fmt.Errorf("testimages: cache: %w", err)
	}
	o.Output = filepath.Join(dir, fmt.Sprintf("%s-%s.tar", p, cacheKey(o)))
	if img, err := ociimage.Inspect(o.Output); err == nil {
		return img, nil
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	img, err := ociimage.Build(ctx, o)
	if err != nil {
		return ociimage.Image{}, fmt.Errorf("testimages: build %s: %w", p, err)
	}
	return img, nil
}

// cacheKey hashes everything that decides an archive's bytes.
func cacheKey(o ociimage.Options) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00", runtime.Version(), runtime.GOARCH,
		o.Ref, o.BinaryName, strings.Join(o.Env, "\x01"), strings.Join(o.ExposedPorts, "\x01"), o.Source)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
