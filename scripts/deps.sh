#!/usr/bin/env bash
# deps.sh installs what the tests need when it is missing, so that a fresh
# machine (CI's included) runs `make test` without manual steps. The tests
# need Go >= 1.26, which cannot be installed from here: this script checks
# for it and reports what it found. testcluster's kubectl tests need two
# kubectl binaries, which kubectl.sh fetches; without them those tests
# skip, unless SKIFF_REQUIRE_KUBECTL is set (CI sets it), in which case a
# failure to fetch them fails here.
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

# The fault tests (internal/faults) put servers in network namespaces with
# iproute2's ip.
if ! command -v ip >/dev/null 2>&1; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing iproute2 for the fault tests"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 >/dev/null; }
	else
		echo "deps: ip (iproute2) not found and cannot be installed here; the fault tests will skip" >&2
	fi
fi

status=0
kubectl=$(bash "$(dirname "$0")/kubectl.sh") || status=$?
if [[ -n $kubectl ]]; then
	echo "$kubectl" | sed 's/^/deps: /'
fi
if ((status != 0)); then
	if [[ -n ${SKIFF_REQUIRE_KUBECTL:-} ]]; then
		echo "deps: kubectl.sh failed and SKIFF_REQUIRE_KUBECTL is set" >&2
		exit 1
	fi
	echo "deps: kubectl.sh failed (above); the kubectl tests it could not serve will skip" >&2
fi
