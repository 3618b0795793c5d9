#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target of the module for FUZZTIME (default 20s)
# each. New failing inputs land in the package's testdata/fuzz directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
fuzztime=${FUZZTIME:-20s}

# `go test -list` prints each package's matching names, then "ok <pkg> ...".
targets=$(go test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[++n] = $1; next }
	/^ok / { for (i = 1; i <= n; i++) print $2, names[i]; n = 0; next }
	/^\?/ { n = 0 }')
if [[ -z $targets ]]; then
	echo "fuzz: no fuzz targets found"
	exit 0
fi
while read -r pkg name; do
	echo "fuzz: $pkg $name for $fuzztime"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done <<<"$targets"
