package ociimage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// Options describe one image. Ref is required, and Build needs exactly one
// of MainPackage and Source; Pack ignores both (and Output).
type Options struct {
	// MainPackage is the directory of a main package, built with `go
	// build` run in that directory (so inside its Go module).
	MainPackage string
	// Source is the text of a single-file main package that imports only
	// the standard library, for programs written inline in a test.
	Source string
	// Ref names the image, e.g. "skiff.test/hello:v1". It must be a
	// normalized reference with a tag: containerd stores it as the
	// image's name and a pod's image field matches it exactly.
	Ref string
	// BinaryName is the program's path in the image, relative to /.
	// Default "app".
	BinaryName string
	// Entrypoint defaults to ["/" + BinaryName].
	Entrypoint []string
	// Cmd is the default arguments.
	Cmd []string
	// Env holds "KEY=value" entries.
	Env []string
	// ExposedPorts holds "8080/tcp", "53/udp" or "8080" (tcp).
	ExposedPorts []string
	// Labels are the image config's labels.
	Labels map[string]string
	// Output is the archive Build writes; its directory must exist.
	Output string
}

// validate checks the fields Pack uses and fills defaults into a copy.
func (o Options) validate() (Options, error) {
	if o.Ref == "" {
		return o, errors.New("ociimage: Ref is required")
	}
	named, err := reference.ParseNormalizedNamed(o.Ref)
	if err != nil {
		return o, fmt.Errorf("ociimage: Ref %q: %w", o.Ref, err)
	}
	if _, ok := named.(reference.Tagged); !ok {
		return o, fmt.Errorf("ociimage: Ref %q: needs a tag (name:tag)", o.Ref)
	}
	if named.String() != o.Ref {
		return o, fmt.Errorf("ociimage: Ref %q: not normalized; write %q", o.Ref, named.String())
	}
	if o.BinaryName == "" {
		o.BinaryName = "app"
	}
	o.BinaryName = strings.TrimPrefix(o.BinaryName, "/")
	if o.BinaryName == "" || strings.Contains(o.BinaryName, "..") {
		return o, fmt.Errorf("ociimage: BinaryName %q: want a relative path without \"..\"", o.BinaryName)
	}
	if len(o.Entrypoint) == 0 {
		o.Entrypoint = []string{"/" + o.BinaryName}
	}
	for _, e := range o.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return o, fmt.Errorf("ociimage: Env %q: want KEY=value", e)
		}
	}
	ports := make([]string, 0, len(o.ExposedPorts)) // the caller's slice stays as given
	for _, p := range o.ExposedPorts {
		port, proto, ok := strings.Cut(p, "/")
		if !ok {
			proto = "tcp"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return o, fmt.Errorf("ociimage: ExposedPorts %q: port must be 1-65535", p)
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return o, fmt.Errorf("ociimage: ExposedPorts %q: protocol must be tcp, udp or sctp", p)
		}
		ports = append(ports, port+"/"+proto)
	}
	o.ExposedPorts = ports
	return o, nil
}
