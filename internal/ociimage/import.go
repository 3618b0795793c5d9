package ociimage

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
)

// Import loads the OCI archive read from r into the containerd namespace
// that ctx carries (namespaces.WithNamespace) and unpacks each image it
// names into snapshotter ("" means the namespace's default, else
// overlayfs), so containers can be created from them at once. It returns
// the images created or updated; importing the same archive twice is
// harmless.
func Import(ctx context.Context, c *containerd.Client, r io.Reader, snapshotter string) ([]images.Image, error) {
	imgs, err := c.Import(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import image archive: it names no image (no io.containerd.image.name or org.opencontainers.image.ref.name annotation in index.json)")
	}
	for _, img := range imgs {
		image := containerd.NewImage(c, img)
		if err := image.Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", img.Name, err)
		}
	}
	return imgs, nil
}

// ImportFile is Import from the archive at path.
func ImportFile(ctx context.Context, c *containerd.Client, path, snapshotter string) ([]images.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Import(ctx, c, f, snapshotter)
}
