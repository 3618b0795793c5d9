#!/usr/bin/env bash
# kubectl.sh makes sure the two kubectl binaries that testcluster's kubectl
# tests drive are on this machine, fetching what is missing, and prints
# where they are as shell assignments the tests also read from the
# environment:
#
#	SKIFF_KUBECTL=/usr/bin/kubectl
#	SKIFF_KUBECTL_OLD=$HOME/.cache/skiff/kubectl-1.20/kubectl
#
# (eval "$(scripts/kubectl.sh)" sets them.) The current kubectl is the
# machine's, from the apt package kubectl (on the go machine image, Google
# Cloud SDK's kubectl 1.32 dispatcher), installed with apt-get when it is
# missing. The old one is Debian's kubernetes-client (1.20), which also
# ships /usr/bin/kubectl: it is downloaded and unpacked into the cache, not
# installed. Run again, the script finds both and fetches nothing. It says
# nothing else unless something fails; it then says why on stderr, with
# apt's output, prints the assignment of the binary it did find, if any,
# and exits 1.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/skiff
old_dir=$cache/kubectl-1.20
old_kubectl=$old_dir/kubectl
old_package=kubernetes-client
old_version=v1.20.

sudo=()
if ((EUID != 0)) && command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
fi

log=$(mktemp)
work=
cleanup() {
	rm -f "$log"
	if [[ -n $work ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

# problem reports why a binary is missing, with apt's output so far.
problems=0
problem() {
	echo "kubectl.sh: $*" >&2
	if [[ -s $log ]]; then
		echo "--- apt output" >&2
		cat "$log" >&2
		: >"$log"
	fi
	problems=$((problems + 1))
}

# quietly runs a command with its output in the log.
quietly() {
	"$@" >>"$log" 2>&1
}

# with_fresh_lists runs an apt command, and if it fails, refreshes the
# package lists once (a new machine may have none) and runs it again.
updated=0
with_fresh_lists() {
	if quietly "$@"; then
		return 0
	fi
	if ((updated)); then
		return 1
	fi
	updated=1
	quietly "${sudo[@]}" apt-get update -q || return 1
	quietly "$@"
}

# fetch_current finds the machine's kubectl, installing it if need be.
fetch_current() {
	if current=$(command -v kubectl); then
		return 0
	fi
	if ! with_fresh_lists "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kubectl; then
		local policy
		policy=$(apt-cache policy kubectl 2>&1 || true)
		problem "kubectl is not on PATH and apt-get install kubectl failed. Debian's archive has no package kubectl: the machine image's comes from the Google Cloud SDK apt repository, which this machine's apt sources do not include. apt-cache policy kubectl: ${policy:-nothing}"
		return 1
	fi
	current=$(command -v kubectl) || {
		problem "apt-get installed kubectl, yet it is not on PATH"
		return 1
	}
}

# fetch_old unpacks kubectl 1.20 from Debian's kubernetes-client into the
# cache unless it is there.
fetch_old() {
	if [[ -x $old_kubectl ]]; then
		return 0
	fi
	work=$(mktemp -d)
	# apt's download sandbox user (_apt) cannot write to a private
	# temporary directory: download as the caller.
	if ! (cd "$work" && with_fresh_lists apt-get download -q -o APT::Sandbox::User="$(id -un)" "$old_package"); then
		problem "apt-get download $old_package failed"
		return 1
	fi
	local debs=("$work"/"$old_package"_*.deb) version
	if [[ ! -f ${debs[0]} ]]; then
		problem "apt-get download $old_package left no .deb in $work"
		return 1
	fi
	if ! dpkg-deb -x "${debs[0]}" "$work/root" >>"$log" 2>&1 || [[ ! -x $work/root/usr/bin/kubectl ]]; then
		problem "${debs[0]} does not unpack to a usr/bin/kubectl"
		return 1
	fi
	version=$("$work/root/usr/bin/kubectl" version --client 2>&1 || true)
	if [[ $version != *"GitVersion:\"$old_version"* ]]; then
		problem "${debs[0]} is not kubectl $old_version*: $version"
		return 1
	fi
	mkdir -p "$old_dir"
	install -m 0755 "$work/root/usr/bin/kubectl" "$old_kubectl.tmp"
	mv -f "$old_kubectl.tmp" "$old_kubectl"
}

if fetch_current; then
	echo "SKIFF_KUBECTL=$current"
fi
if fetch_old; then
	echo "SKIFF_KUBECTL_OLD=$old_kubectl"
fi
((problems == 0))
