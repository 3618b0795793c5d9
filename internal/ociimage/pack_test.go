package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// readTar returns the archive's files in order and by name.
func readTar(t *testing.T, b []byte) ([]string, map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	var names []string
	files := map[string][]byte{}
	hdrs := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, files, hdrs
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		files[h.Name] = data
		hdrs[h.Name] = h
	}
}

func unmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
}

func blob(t *testing.T, files map[string][]byte, d ocispec.Descriptor) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
	if !ok {
		t.Fatalf("blob %s missing", d.Digest)
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("blob %s: size %d, descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b
}

func TestPackWritesValidLayout(t *testing.T) {
	binary := []byte("\x7fELF not really")
	opts := Options{
		Ref:          "skiff.test/hello:v1",
		BinaryName:   "bin/hello",
		Env:          []string{"PORT=8080"},
		ExposedPorts: []string{"8080", "53/udp"},
		Cmd:          []string{"--flag"},
	}
	var buf bytes.Buffer
	img, err := Pack(&buf, binary, opts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ExposedPorts[0] != "8080" {
		t.Errorf("Pack changed the caller's ExposedPorts: %v", opts.ExposedPorts)
	}
	names, files, _ := readTar(t, buf.Bytes())
	if names[0] != "oci-layout" || names[1] != "index.json" || !slices.IsSorted(names[2:]) || len(names) != 5 {
		t.Errorf("entries = %v, want oci-layout, index.json, then three sorted blobs", names)
	}
	// Every blob is named by its own digest.
	for name, data := range files {
		if enc, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && digest.FromBytes(data).Encoded() != enc {
			t.Errorf("blob %s has digest %s", name, digest.FromBytes(data))
		}
	}
	var layout ocispec.ImageLayout
	unmarshal(t, files["oci-layout"], &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout version %q", layout.Version)
	}

	var index ocispec.Index
	unmarshal(t, files["index.json"], &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests", len(index.Manifests))
	}
	md := index.Manifests[0]
	if md.Digest != img.Manifest.Digest || md.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("index manifest %+v, Pack returned %+v", md, img.Manifest)
	}
	wantAnn := map[string]string{"io.containerd.image.name": "skiff.test/hello:v1", "org.opencontainers.image.ref.name": "v1"}
	if !reflect.DeepEqual(md.Annotations, wantAnn) {
		t.Errorf("annotations = %v, want %v", md.Annotations, wantAnn)
	}

	var m ocispec.Manifest
	unmarshal(t, blob(t, files, md), &m)
	if m.Config.Digest != img.Config || len(m.Layers) != 1 || m.Layers[0].MediaType != ocispec.MediaTypeImageLayerGzip {
		t.Fatalf("manifest %+v", m)
	}
	var cfg ocispec.Image
	unmarshal(t, blob(t, files, m.Config), &cfg)
	if got := cfg.Config.Entrypoint; !reflect.DeepEqual(got, []string{"/bin/hello"}) {
		t.Errorf("Entrypoint = %v", got)
	}
	if !reflect.DeepEqual(cfg.Config.Env, opts.Env) || !reflect.DeepEqual(cfg.Config.Cmd, opts.Cmd) {
		t.Errorf("Env %v Cmd %v", cfg.Config.Env, cfg.Config.Cmd)
	}
	if _, ok := cfg.Config.ExposedPorts["8080/tcp"]; !ok || len(cfg.Config.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts = %v", cfg.Config.ExposedPorts)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}

	zr, err := gzip.NewReader(bytes.NewReader(blob(t, files, m.Layers[0])))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != digest.FromBytes(layer) {
		t.Errorf("diff IDs %v, layer digest %s", cfg.RootFS.DiffIDs, digest.FromBytes(layer))
	}
	lnames, lfiles, lhdrs := readTar(t, layer)
	if want := []string{"tmp/", "bin/", "bin/hello"}; !reflect.DeepEqual(lnames, want) {
		t.Errorf("layer entries %v, want %v", lnames, want)
	}
	if !bytes.Equal(lfiles["bin/hello"], binary) || lhdrs["bin/hello"].Mode != 0o755 || lhdrs["tmp/"].Mode != 0o1777 {
		t.Errorf("layer headers %+v %+v", lhdrs["bin/hello"], lhdrs["tmp/"])
	}
}

func TestPackIsDeterministic(t *testing.T) {
	pack := func(o Options) ([]byte, Image) {
		var buf bytes.Buffer
		img, err := Pack(&buf, []byte("binary"), o)
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), img
	}
	base := Options{Ref: "skiff.test/a:v1", Env: []string{"A=1"}, Labels: map[string]string{"b": "2", "a": "1"}}
	a, ia := pack(base)
	b, ib := pack(base)
	if !bytes.Equal(a, b) || ia.Manifest.Digest != ib.Manifest.Digest {
		t.Fatalf("two packs differ: %s vs %s", ia.Manifest.Digest, ib.Manifest.Digest)
	}
	other := base
	other.Env = []string{"A=2"}
	if _, io := pack(other); io.Manifest.Digest == ia.Manifest.Digest {
		t.Error("a different Env gave the same manifest digest")
	}
}

func TestOptionsErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		field string
	}{
		{"no ref", Options{}, "Ref"},
		{"no tag", Options{Ref: "skiff.test/a"}, "Ref"},
		{"not normalized", Options{Ref: "hello:v1"}, "docker.io/library/hello:v1"},
		{"upper case", Options{Ref: "skiff.test/Hello:v1"}, "Ref"},
		{"escaping binary", Options{Ref: "skiff.test/a:v1", BinaryName: "../x"}, "BinaryName"},
		{"env without =", Options{Ref: "skiff.test/a:v1", Env: []string{"A"}}, "Env"},
		{"port out of range", Options{Ref: "skiff.test/a:v1", ExposedPorts: []string{"70000"}}, "ExposedPorts"},
		{"bad protocol", Options{Ref: "skiff.test/a:v1", ExposedPorts: []string{"80/icmp"}}, "ExposedPorts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Pack(io.Discard, nil, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func TestBuildIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program twice")
	}
	src := "package main\n\nfunc main() { println(\"hi\") }\n"
	dir := t.TempDir()
	var digests []digest.Digest
	for _, out := range []string{dir + "/a.tar", dir + "/b.tar"} {
		img, err := Build(t.Context(), Options{Source: src, Ref: "skiff.test/hi:v1", Output: out})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, img.Manifest.Digest)
	}
	if digests[0] != digests[1] {
		t.Errorf("builds of one source differ: %v", digests)
	}
	if _, err := Build(t.Context(), Options{Ref: "skiff.test/hi:v1", Output: dir + "/c.tar"}); err == nil {
		t.Error("Build without MainPackage or Source succeeded")
	}
}

func TestInspectReadsWhatPackWrote(t *testing.T) {
	var buf bytes.Buffer
	img, err := Pack(&buf, []byte("x"), Options{Ref: "skiff.test/i:v2"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := inspect(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ref != img.Ref || got.Manifest.Digest != img.Manifest.Digest {
		t.Errorf("inspect = %+v, want %s at %s", got, img.Ref, img.Manifest.Digest)
	}
	if _, err := inspect(strings.NewReader("not a tar")); err == nil {
		t.Error("inspect of garbage succeeded")
	}
}

// FuzzInspect feeds arbitrary archives to inspect: it must return an
// image or an error, never panic.
func FuzzInspect(f *testing.F) {
	var buf bytes.Buffer
	if _, err := Pack(&buf, []byte("x"), Options{Ref: "skiff.test/i:v2"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = inspect(bytes.NewReader(b))
	})
}
