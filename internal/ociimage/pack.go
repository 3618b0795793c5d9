package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"runtime"
	"slices"
	"time"

	"github.com/containerd/containerd/images"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// epoch is every timestamp in an archive: fixed, so archives are
// reproducible. 2000-01-01 rather than 1970 because some tar readers treat
// a zero mtime as "unset".
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Image describes an archive Pack or Build wrote.
type Image struct {
	// Path is the archive's file ("" from Pack).
	Path string
	// Ref is the image's name, as in Options.
	Ref string
	// Manifest is the image manifest's descriptor; its digest is the
	// image's identity in containerd and in a registry.
	Manifest ocispec.Descriptor
	// Config is the image config's digest (the image ID docker shows).
	Config digest.Digest
}

// Pack writes an OCI image-layout archive holding one image whose only
// layer contains binary at /opts.BinaryName (mode 0755) and an empty /tmp
// (mode 1777). The archive is a deterministic function of its inputs.
func Pack(w io.Writer, binary []byte, opts Options) (Image, error) {
	o, err := opts.validate()
	if err != nil {
		return Image{}, err
	}
	layerTar, err := layerTar(o.BinaryName, binary)
	if err != nil {
		return Image{}, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed) // the level is valid
	// The gzip header's mtime stays zero and its OS byte fixed, so the
	// compressed layer is as reproducible as the tar.
	if _, err := zw.Write(layerTar); err != nil {
		return Image{}, err
	}
	if err := zw.Close(); err != nil {
		return Image{}, err
	}

	blobs := map[digest.Digest][]byte{}
	add := func(mediaType string, b []byte) ocispec.Descriptor {
		d := digest.FromBytes(b)
		blobs[d] = b
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
	}
	layer := add(ocispec.MediaTypeImageLayerGzip, gz.Bytes())
	platform := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	cfgJSON, err := json.Marshal(imageConfig(o, platform, digest.FromBytes(layerTar)))
	if err != nil {
		return Image{}, err
	}
	config := add(ocispec.MediaTypeImageConfig, cfgJSON)
	manifestJSON, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    []ocispec.Descriptor{layer},
	})
	if err != nil {
		return Image{}, err
	}
	manifest := add(ocispec.MediaTypeImageManifest, manifestJSON)

	named, _ := reference.ParseNormalizedNamed(o.Ref) // validate parsed it
	tagged, _ := named.(reference.Tagged)
	inIndex := manifest
	inIndex.Platform = &platform
	// Both names, as containerd's own exporter writes them: the full
	// name for containerd, the tag alone for OCI tools.
	inIndex.Annotations = map[string]string{
		images.AnnotationImageName: o.Ref,
		ocispec.AnnotationRefName:  tagged.Tag(),
	}
	indexJSON, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{inIndex},
	})
	if err != nil {
		return Image{}, err
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return Image{}, err
	}

	tw := tar.NewWriter(w)
	files := []struct {
		name string
		data []byte
	}{{ocispec.ImageLayoutFile, layoutJSON}, {ocispec.ImageIndexFile, indexJSON}}
	digests := make([]digest.Digest, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	slices.Sort(digests)
	for _, d := range digests {
		files = append(files, struct {
			name string
			data []byte
		}{"blobs/" + d.Algorithm().String() + "/" + d.Encoded(), blobs[d]})
	}
	for _, f := range files {
		if err := writeFile(tw, f.name, 0o644, f.data); err != nil {
			return Image{}, fmt.Errorf("ociimage: write %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return Image{}, fmt.Errorf("ociimage: write archive: %w", err)
	}
	return Image{Ref: o.Ref, Manifest: manifest, Config: config.Digest}, nil
}

// imageConfig is the image's config blob.
func imageConfig(o Options, p ocispec.Platform, diffID digest.Digest) ocispec.Image {
	cfg := ocispec.ImageConfig{
		Entrypoint: o.Entrypoint,
		Cmd:        o.Cmd,
		Env:        o.Env,
		Labels:     o.Labels,
		WorkingDir: "/",
	}
	if len(o.ExposedPorts) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, port := range o.ExposedPorts {
			cfg.ExposedPorts[port] = struct{}{}
		}
	}
	created := epoch
	return ocispec.Image{
		Created:  &created,
		Platform: p,
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &created, CreatedBy: "skiff ociimage: static Go binary /" + o.BinaryName}},
	}
}

// layerTar is the uncompressed layer: /tmp and the binary with its
// parent directories.
func layerTar(name string, binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(header("tmp/", tar.TypeDir, 0o1777, 0)); err != nil {
		return nil, err
	}
	// Parent directories of the binary, outermost first.
	var parents []string
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		parents = append(parents, d+"/")
	}
	slices.Reverse(parents)
	for _, d := range parents {
		if err := tw.WriteHeader(header(d, tar.TypeDir, 0o755, 0)); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, name, 0o755, binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(header(name, tar.TypeReg, mode, int64(len(data)))); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// header is a tar header with every variable field fixed: owner root,
// no user or group names, mtime epoch.
func header(name string, typ byte, mode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}
