// Command build-image packs a Go main package into an OCI image archive
// that `skiff image import` and containerd load. `make demo-image` runs it:
//
//	go run ./internal/ociimage/cmd/build-image -pkg ./examples/demo \
//	    -ref skiff.local/demo:v1 -env VERSION=v1 -port 8080 -o bin/demo-image.tar
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/skiffhq/skiff/internal/ociimage"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "build-image: %v\n", err)
		os.Exit(1)
	}
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("build-image", flag.ContinueOnError)
	var o ociimage.Options
	var env, ports list
	fs.StringVar(&o.MainPackage, "pkg", "", "directory of the main package to build (required)")
	fs.StringVar(&o.Ref, "ref", "", "image name with tag, e.g. skiff.local/demo:v1 (required)")
	fs.StringVar(&o.Output, "o", "", "archive to write (required)")
	fs.StringVar(&o.BinaryName, "binary", "", "program path in the image (default app)")
	fs.Var(&env, "env", "KEY=value in the image's environment (repeatable)")
	fs.Var(&ports, "port", "exposed port, 8080 or 8080/tcp (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for name, v := range map[string]string{"-pkg": o.MainPackage, "-ref": o.Ref, "-o": o.Output} {
		if v == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	o.Env, o.ExposedPorts = env, ports
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	img, err := ociimage.Build(ctx, o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %s %s\n", img.Path, img.Ref, img.Manifest.Digest)
	return err
}
