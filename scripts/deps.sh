#!/usr/bin/env bash
# deps.sh installs what the tests need when it is missing, so that a fresh
# machine (CI's included) runs `make test` without manual steps. For now the
# tests need only Go >= 1.26, which cannot be installed from here: this
# script checks for it and reports what it found.
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH

want_major=1 want_minor=26
if ! command -v go >/dev/null 2>&1; then
	echo "deps: go not found on PATH (expected in /usr/local/go/bin); install Go >= $want_major.$want_minor" >&2
	exit 1
fi
version=$(go env GOVERSION) # e.g. go1.26.8
v=${version#go}
major=${v%%.*}
rest=${v#*.}
minor=${rest%%[!0-9]*}
if ((major < want_major || (major == want_major && minor < want_minor))); then
	echo "deps: $(command -v go) is $version; Skiff needs go$want_major.$want_minor or newer" >&2
	exit 1
fi
echo "deps: $(command -v go) $version ($(go env GOOS)/$(go env GOARCH))"
