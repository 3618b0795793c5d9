// Package testregistry runs a real image registry on loopback for tests of
// the pull path: Debian's docker-registry (the CNCF distribution registry,
// v2.8) as a child process on 127.0.0.1:<free port>, storing blobs in a
// temporary directory, optionally behind htpasswd basic auth.
//
// Push uploads an ociimage archive with plain distribution API calls (blob
// uploads, then the manifest by tag), so a test can fill the registry
// without a container daemon. The registry speaks plain HTTP: a containerd
// resolver must be told so (docker.WithPlainHTTP(docker.MatchLocalhost)).
//
// Start skips the test when /usr/bin/docker-registry is missing, unless
// SKIFF_REQUIRE_WORKER=1, in which case it fails it.
package testregistry
