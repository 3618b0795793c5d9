package apitest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/validation"
)

// Admission is the admission the servers of this package use: Kubernetes'
// defaulting and validation from package apiserver/validation, as the
// server package wires it.
func Admission() apiserver.Admission {
	return apiserver.Admission{
		Default:        validation.Default,
		Validate:       validation.Validate,
		ValidateStatus: validation.ValidateStatus,
		PrepareUpdate:  validation.PrepareUpdate,
	}
}

// NewServer serves the API over a new LocalStore, with Admission, on a
// loopback port, with the system namespaces created. The server is closed
// when the test ends.
func NewServer(t testing.TB) (*httptest.Server, *LocalStore) {
	t.Helper()
	s := NewLocalStore()
	return Serve(t, apiserver.Config{Store: s, Admission: Admission()}), s
}

// Serve serves apiserver.New(cfg) on a loopback port after creating the
// system namespaces in cfg.Store, and closes the server when the test
// ends. cfg is used as given: Admission left empty admits everything.
func Serve(t testing.TB, cfg apiserver.Config) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := apiserver.EnsureSystemNamespaces(ctx, cfg.Store, metav1.Now()); err != nil {
		t.Fatalf("create system namespaces: %v", err)
	}
	srv := httptest.NewServer(apiserver.New(cfg))
	t.Cleanup(srv.Close)
	return srv
}
