// Package testimages provides the container images Skiff's tests run:
// small static Go programs, each a main package in a subdirectory, packed
// by ociimage into OCI archives.
//
//	serve  skiff.test/serve:v1  HTTP on $PORT: /, /healthz, /ready, /admin/*
//	exit   skiff.test/exit:v1   exits with $EXIT_CODE after $DELAY
//	crash  skiff.test/crash:v1  panics (status 2) after $DELAY
//
// Each program's source is embedded here, so an image is built from what
// this package was compiled with, wherever the test runs. Archives are
// cached in os.TempDir()/skiff-testimages under a hash of the source, the
// options and the Go version: the first test binary to ask builds an
// image (a few seconds), every later ask anywhere on the machine reads the
// file. Builds are reproducible, so concurrent builders write identical
// files.
package testimages
