package testregistry_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
	"github.com/skiffhq/skiff/internal/testregistry"
)

func get(t *testing.T, ctx context.Context, u, user, pass string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestPushThenPullManifestByTag pushes a test image to a registry behind
// auth, reads its manifest back by tag, and checks wrong or missing
// credentials get 401.
func TestPushThenPullManifestByTag(t *testing.T) {
	r := testregistry.Start(t, testregistry.WithAuth("skiff", "s3cret"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img := testimages.Image(t, testimages.Exit)
	desc, err := r.Push(ctx, img.Path, r.Ref("skiff/exit:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != img.Manifest.Digest {
		t.Errorf("pushed %s, archive's manifest is %s", desc.Digest, img.Manifest.Digest)
	}
	// A second push finds every blob present and only rewrites the tag.
	if _, err := r.Push(ctx, img.Path, r.Ref("skiff/exit:v1")); err != nil {
		t.Fatalf("second push: %v", err)
	}

	manifestURL := r.URL() + "/v2/skiff/exit/manifests/v1"
	code, hdr, body := get(t, ctx, manifestURL, "skiff", "s3cret")
	if code != http.StatusOK {
		t.Fatalf("GET manifest: %d %s", code, body)
	}
	if got := digest.FromBytes(body); got != desc.Digest || hdr.Get("Docker-Content-Digest") != desc.Digest.String() {
		t.Errorf("manifest digest %s, header %s, want %s", got, hdr.Get("Docker-Content-Digest"), desc.Digest)
	}

	for _, tc := range []struct {
		name, user, pass string
		want             int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "skiff", "wrong", http.StatusUnauthorized},
		{"unknown user", "eve", "s3cret", http.StatusUnauthorized},
		{"right credentials", "skiff", "s3cret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, u := range []string{r.URL() + "/v2/", manifestURL} {
				if code, _, body := get(t, ctx, u, tc.user, tc.pass); code != tc.want {
					t.Errorf("GET %s = %d %s, want %d", u, code, body, tc.want)
				}
			}
		})
	}
}

func TestPushRejectsAnotherRegistrysRef(t *testing.T) {
	r := testregistry.Start(t)
	img := testimages.Image(t, testimages.Exit)
	if _, err := r.Push(t.Context(), img.Path, "skiff.test/exit:v1"); err == nil {
		t.Error("push of a ref naming another registry succeeded")
	}
	if _, err := r.Push(t.Context(), img.Path, r.Ref("skiff/exit")); err == nil {
		t.Error("push of a ref without tag succeeded")
	}
}

// TestContainerdPullsFromRegistry is the worker's pull path: containerd's
// client pulls an image over plain HTTP with basic auth and unpacks it.
func TestContainerdPullsFromRegistry(t *testing.T) {
	d := testcontainerd.Start(t)
	r := testregistry.Start(t, testregistry.WithAuth("skiff", "s3cret"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img := testimages.Image(t, testimages.Serve)
	ref := r.Ref("skiff/serve:v1")
	if _, err := r.Push(ctx, img.Path, ref); err != nil {
		t.Fatal(err)
	}
	ctx, err := d.Namespace(ctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	creds := func(host string) (string, string, error) { return r.Username, r.Password, nil }
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(docker.MatchLocalhost),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
		),
	})
	pulled, err := d.Client().Pull(ctx, ref, containerd.WithResolver(resolver), containerd.WithPullUnpack)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Name() != ref || pulled.Target().Digest != img.Manifest.Digest {
		t.Errorf("pulled %s at %s, want %s at %s", pulled.Name(), pulled.Target().Digest, ref, img.Manifest.Digest)
	}
	if ok, err := pulled.IsUnpacked(ctx, d.Snapshotter); err != nil || !ok {
		t.Errorf("IsUnpacked(%s) = %v, %v", d.Snapshotter, ok, err)
	}
}
