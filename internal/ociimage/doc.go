// Package ociimage builds container images without a registry or a
// container builder: a statically linked Go program (CGO_ENABLED=0 go
// build) packed as the only file of a single-layer OCI image, written as an
// OCI image-layout tar archive that containerd's client.Import and
// `ctr images import` accept, named by the io.containerd.image.name
// annotation.
//
// Archives are deterministic: the same program and Options give the same
// bytes, hence the same manifest digest, because every timestamp is fixed,
// entries are sorted, and the Go build is trimmed of paths and VCS stamps.
// Tests rely on this to cache images and to compare digests.
//
// Import loads an archive into a containerd namespace and unpacks it, for
// tests and for `skiff image import`.
package ociimage
