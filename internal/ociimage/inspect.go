package ociimage

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd/images"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexSize bounds the index.json Inspect reads: a real one is a few
// hundred bytes.
const maxIndexSize = 1 << 20

// Inspect reads the archive at path and returns its first named image
// (name, manifest descriptor) without reading the blobs. It reports
// Config as empty: that would need the manifest blob.
func Inspect(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	img, err := inspect(f)
	if err != nil {
		return Image{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	img.Path = path
	return img, nil
}

func inspect(r io.Reader) (Image, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return Image{}, errors.New("no index.json: not an OCI image layout archive")
		}
		if err != nil {
			return Image{}, err
		}
		if h.Name != ocispec.ImageIndexFile && h.Name != "./"+ocispec.ImageIndexFile {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxIndexSize+1))
		if err != nil {
			return Image{}, err
		}
		if len(b) > maxIndexSize {
			return Image{}, fmt.Errorf("index.json is over %d bytes", maxIndexSize)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return Image{}, fmt.Errorf("index.json: %w", err)
		}
		for _, m := range idx.Manifests {
			name := m.Annotations[images.AnnotationImageName]
			if name == "" {
				name = m.Annotations[ocispec.AnnotationRefName]
			}
			if name != "" {
				return Image{Ref: name, Manifest: m}, nil
			}
		}
		return Image{}, errors.New("index.json names no image")
	}
}
