package ociimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build compiles the program of opts.MainPackage or opts.Source as a
// static linux binary for this machine's architecture and writes its
// image to opts.Output. The go command comes from PATH (go test and go run
// put their own first) or /usr/local/go/bin.
func Build(ctx context.Context, opts Options) (Image, error) {
	if opts.Output == "" {
		return Image{}, errors.New("ociimage: Output is required")
	}
	if _, err := opts.validate(); err != nil {
		return Image{}, err
	}
	binary, err := compile(ctx, opts)
	if err != nil {
		return Image{}, err
	}
	var buf bytes.Buffer
	img, err := Pack(&buf, binary, opts)
	if err != nil {
		return Image{}, err
	}
	// Write-then-rename through a unique temporary file, so a reader (or
	// another test binary building the same image into a shared cache)
	// never sees half an archive.
	f, err := os.CreateTemp(filepath.Dir(opts.Output), ".ociimage-*")
	if err != nil {
		return Image{}, fmt.Errorf("ociimage: Output: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return Image{}, fmt.Errorf("ociimage: Output: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return Image{}, fmt.Errorf("ociimage: Output: %w", err)
	}
	if err := os.Rename(f.Name(), opts.Output); err != nil {
		os.Remove(f.Name())
		return Image{}, fmt.Errorf("ociimage: Output: %w", err)
	}
	img.Path = opts.Output
	return img, nil
}

// compile runs go build and returns the binary.
func compile(ctx context.Context, opts Options) ([]byte, error) {
	if (opts.MainPackage == "") == (opts.Source == "") {
		return nil, errors.New("ociimage: set exactly one of MainPackage and Source")
	}
	tmp, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "app")
	// -trimpath and -buildvcs=false keep paths and VCS state out of the
	// binary, which makes it (and so the image digest) reproducible;
	// -s -w drop the symbol table, about a third of the size.
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out}
	dir := opts.MainPackage
	if opts.Source != "" {
		// A fixed directory name inside tmp: with -trimpath a file
		// argument's directory still names the package's path.
		dir = filepath.Join(tmp, "src")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(opts.Source), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "main.go")
	} else {
		args = append(args, ".")
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("ociimage: MainPackage %q: not a directory", dir)
		}
	}
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if opts.Source != "" {
		// Outside any module: build the file on its own.
		cmd.Env = append(cmd.Env, "GO111MODULE=on", "GOFLAGS=", "GOWORK=off")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ociimage: go build in %s: %w\n%s", dir, err, b)
	}
	return os.ReadFile(out)
}

// goCommand is the go tool to build with.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
