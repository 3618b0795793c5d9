#!/usr/bin/env bash
# staticcheck.sh runs staticcheck (the version pinned here) over the
# module, installing it into $(go env GOPATH)/bin when it is missing or
# another version. staticcheck.conf at the root says which checks run.
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH
version=v0.8.2
bin=$(go env GOPATH)/bin/staticcheck
if [[ ! -x $bin ]] || [[ $("$bin" -version 2>/dev/null) != *"${version#v}"* ]]; then
	echo "lint: installing staticcheck $version"
	go install "honnef.co/go/tools/cmd/staticcheck@$version"
fi
"$bin" ./...
