package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// ImageImporter is a Runtime that loads OCI image archives, which the
// worker offers at POST /images/import so that `skiff image import --node`
// reaches a node through the API. The worker finds it by type assertion.
type ImageImporter interface {
	// ImportImage reads an OCI image-layout archive from archive, stores
	// its images where pods find them and unpacks them. Errors wrap
	// ErrUnavailable when the runtime cannot be reached; any other error
	// is about the archive.
	ImportImage(ctx context.Context, archive io.Reader) ([]ImportedImage, error)
}

// ImportedImage is one image an import stored.
type ImportedImage struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// ImportResult is the body of a successful POST /images/import.
type ImportResult struct {
	Node   string          `json:"node"`
	Images []ImportedImage `json:"images"`
}

// MaxImageArchive bounds an archive POST /images/import reads: larger
// bodies are cut off and refused rather than filling the node's disk.
const MaxImageArchive = 8 << 30

// importImage serves POST /images/import: the body is the archive.
func (e *endpoint) importImage(rw http.ResponseWriter, r *http.Request) {
	imp, ok := e.w.rt.(ImageImporter)
	if !ok {
		http.Error(rw, "this node's container runtime cannot import images", http.StatusNotImplemented)
		return
	}
	body := http.MaxBytesReader(rw, r.Body, MaxImageArchive)
	imgs, err := imp.ImportImage(r.Context(), body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		http.Error(rw, "image archive larger than 8 GiB", http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, ErrUnavailable):
		http.Error(rw, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	e.w.log.Info("imported image archive", "images", len(imgs))
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(ImportResult{Node: e.w.cfg.Name, Images: imgs})
}
