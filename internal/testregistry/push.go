package testregistry

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Push uploads the image of an OCI archive (as ociimage writes them: one
// manifest in index.json) to this registry as ref, which must name this
// registry ("127.0.0.1:port/repo:tag"; see Ref). It sends the config and
// layer blobs the registry lacks, then the manifest by tag, and returns
// the manifest's descriptor.
func (r *Registry) Push(ctx context.Context, archive, ref string) (ocispec.Descriptor, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push: ref %q: %w", ref, err)
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("push: ref %q: needs a tag", ref)
	}
	if d := reference.Domain(named); d != r.Addr {
		return ocispec.Descriptor{}, fmt.Errorf("push: ref %q: names registry %s, not this one (%s)", ref, d, r.Addr)
	}
	repo := reference.Path(named)
	files, err := readArchive(archive)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: %w", archive, err)
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: index.json: no manifest (%v)", archive, err)
	}
	md := index.Manifests[0]
	manifestJSON, ok := files[blobPath(md.Digest)]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: manifest blob %s missing", archive, md.Digest)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifestJSON, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: manifest: %w", archive, err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		b, ok := files[blobPath(d.Digest)]
		if !ok {
			return ocispec.Descriptor{}, fmt.Errorf("push %s: blob %s missing", archive, d.Digest)
		}
		if err := r.pushBlob(ctx, repo, d.Digest, b); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("push %s: %w", ref, err)
		}
	}
	u := fmt.Sprintf("%s/v2/%s/manifests/%s", r.URL(), repo, tagged.Tag())
	resp, err := r.do(ctx, http.MethodPut, u, md.MediaType, manifestJSON)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: manifest: %w", ref, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: manifest: %s", ref, status(resp))
	}
	return ocispec.Descriptor{MediaType: md.MediaType, Digest: md.Digest, Size: md.Size}, nil
}

// pushBlob uploads one blob unless the registry has it: a monolithic
// upload (POST for a session, PUT with the digest).
func (r *Registry) pushBlob(ctx context.Context, repo string, d digest.Digest, b []byte) error {
	resp, err := r.do(ctx, http.MethodHead, fmt.Sprintf("%s/v2/%s/blobs/%s", r.URL(), repo, d), "", nil)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	resp, err = r.do(ctx, http.MethodPost, fmt.Sprintf("%s/v2/%s/blobs/uploads/", r.URL(), repo), "", nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("blob %s: start upload: %s", d, status(resp))
	}
	loc, err := url.Parse(r.URL())
	if err == nil {
		loc, err = loc.Parse(resp.Header.Get("Location")) // may be relative
	}
	if err != nil {
		return fmt.Errorf("blob %s: upload location: %w", d, err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	resp, err = r.do(ctx, http.MethodPut, loc.String(), "application/octet-stream", b)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("blob %s: upload: %s", d, status(resp))
	}
	return nil
}

// do sends one request with the registry's credentials and returns the
// response with its body read (kept for status messages) and closed.
func (r *Registry) do(ctx context.Context, method, u, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body = io.NopCloser(bytes.NewReader(msg))
	return resp, nil
}

func status(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%s %s: %s", resp.Request.Method, resp.Status, strings.TrimSpace(string(b)))
}

func blobPath(d digest.Digest) string { return "blobs/" + d.Algorithm().String() + "/" + d.Encoded() }

// maxArchive bounds what readArchive holds in memory: test images are a
// few MiB.
const maxArchive = 512 << 20

// readArchive returns the archive's regular files by name.
func readArchive(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	total := int64(0)
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if total += h.Size; total > maxArchive {
			return nil, fmt.Errorf("archive is over %d bytes", maxArchive)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[strings.TrimPrefix(h.Name, "./")] = b
	}
}
