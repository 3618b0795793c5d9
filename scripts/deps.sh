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

# Packages the tests use, as "command-or-path package purpose". The fault
# tests put servers in network namespaces with iproute2's ip; the worker's
# integration tests start their own containerd (with runc and the CNI
# plugins in /usr/lib/cni); netproxy's tests program nftables; the pull
# tests run Debian's distribution registry (docker-registry); the dashboard
# test drives chromium. Missing ones are installed when we are root and
# apt-get exists; apt-get update runs at most once, only if an install fails.
pkgs=(
	"ip iproute2 the fault tests"
	"containerd containerd the worker's integration tests"
	"runc runc the worker's integration tests"
	"/usr/lib/cni/bridge containernetworking-plugins pod networking tests"
	"nft nftables the netproxy tests"
	"docker-registry docker-registry the image pull tests"
	"chromium chromium the dashboard test"
)
missing=()
for entry in "${pkgs[@]}"; do
	read -r probe pkg _ <<<"$entry"
	if [[ $probe == /* ]]; then
		[[ -e $probe ]] && continue
	else
		command -v "$probe" >/dev/null 2>&1 && continue
		# ip and nft live in /usr/sbin or /sbin, which a non-root PATH may lack.
		[[ -x /usr/sbin/$probe || -x /sbin/$probe ]] && continue
	fi
	missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing ${missing[*]} with apt-get"
		apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
		if ! apt_install; then
			echo "deps: apt-get install failed; running apt-get update once and retrying"
			if ! { apt-get update -q >/dev/null && apt_install; }; then
				echo "deps: could not install ${missing[*]}; the tests that need them will skip (or fail under SKIFF_REQUIRE_*)" >&2
			fi
		fi
	else
		for entry in "${pkgs[@]}"; do
			read -r probe pkg purpose <<<"$entry"
			for m in "${missing[@]}"; do
				if [[ $m == "$pkg" ]]; then
					echo "deps: $probe ($pkg) not found and cannot be installed here (not root or no apt-get); $purpose will skip" >&2
				fi
			done
		done
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
