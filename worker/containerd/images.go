package containerd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/remotes"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/remotes/docker/config"

	"github.com/skiffhq/skiff/worker"
)

// EnsureImage makes ref present and unpacked according to policy and
// returns its digest.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy worker.PullPolicy, auth []worker.RegistryAuth) (string, error) {
	ctx = r.ns(ctx)
	name := normalize(ref)
	if policy != worker.PullAlways {
		img, err := r.c.GetImage(ctx, name)
		if err == nil {
			if ok, _ := img.IsUnpacked(ctx, r.opts.Snapshotter); !ok {
				if err := img.Unpack(ctx, r.opts.Snapshotter); err != nil {
					return "", fmt.Errorf("unpack %s: %w", ref, err)
				}
			}
			return img.Target().Digest.String(), nil
		}
		if !errdefs.IsNotFound(err) {
			return "", wrap(err)
		}
		if policy == worker.PullNever {
			return "", fmt.Errorf("%w: image %q is not present and imagePullPolicy is Never", worker.ErrImagePull, ref)
		}
	}
	img, err := r.c.Pull(ctx, name, containerd.WithPullUnpack, containerd.WithPullSnapshotter(r.opts.Snapshotter), containerd.WithResolver(r.resolver(auth)))
	if err != nil {
		return "", fmt.Errorf("%w: %w", worker.ErrImagePull, err)
	}
	return img.Target().Digest.String(), nil
}

// resolver resolves registries with the pod's credentials, over plain
// HTTP only for the insecure registries the configuration names.
func (r *Runtime) resolver(auth []worker.RegistryAuth) remotes.Resolver {
	creds := func(host string) (string, string, error) {
		for _, a := range auth {
			if a.Registry == host || (host == "registry-1.docker.io" && a.Registry == "docker.io") {
				return a.Username, a.Password, nil
			}
		}
		return "", "", nil
	}
	hosts := config.ConfigureHosts(context.Background(), config.HostOptions{
		Credentials:   creds,
		DefaultScheme: "https",
		DefaultTLS:    nil,
	})
	insecure := r.opts.InsecureRegistries
	return docker.NewResolver(docker.ResolverOptions{Hosts: func(host string) ([]docker.RegistryHost, error) {
		hs, err := hosts(host)
		if err != nil {
			return nil, err
		}
		if slices.Contains(insecure, host) {
			for i := range hs {
				hs[i].Scheme = "http"
				hs[i].Client = http.DefaultClient
			}
		}
		return hs, nil
	}})
}

// normalize turns a Kubernetes image reference into containerd's full
// name: "busybox" becomes "docker.io/library/busybox:latest".
func normalize(ref string) string {
	name, tag := ref, ""
	if i := lastIndex(name, '@'); i >= 0 {
		return fullName(name[:i]) + name[i:]
	}
	if i := lastIndex(name, ':'); i > lastIndex(name, '/') {
		name, tag = name[:i], name[i:]
	}
	if tag == "" {
		tag = ":latest"
	}
	return fullName(name) + tag
}

func fullName(name string) string {
	first, _, hasSlash := cut(name, '/')
	if !hasSlash {
		return "docker.io/library/" + name
	}
	if !containsAny(first, ".:") && first != "localhost" {
		return "docker.io/" + name
	}
	return name
}

func lastIndex(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func cut(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// ImportDir imports every OCI or docker archive (*.tar) in dir into the
// worker's namespace and unpacks it, so pods can use images no registry
// serves. A missing dir is no error; a bad archive is reported with its
// name and the others are still imported.
func (r *Runtime) ImportDir(ctx context.Context, dir string) error {
	ctx = r.ns(ctx)
	paths, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range paths {
		if err := r.importFile(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("import %s: %w", p, err))
			continue
		}
		r.log.Info("imported image archive", "file", p)
	}
	return errors.Join(errs...)
}

func (r *Runtime) importFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	imgs, err := r.c.Import(ctx, f)
	if err != nil {
		return wrap(err)
	}
	for _, img := range imgs {
		if err := containerd.NewImage(r.c, img).Unpack(ctx, r.opts.Snapshotter); err != nil {
			return fmt.Errorf("unpack %s: %w", img.Name, err)
		}
	}
	return nil
}
