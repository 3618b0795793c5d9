#!/usr/bin/env bash
# run-ha.sh starts a local three-server cluster in the background from
# examples/ha/s{1,2,3}.yaml (127.0.0.1-3, API on :7443, data in .skiff/ha/sN)
# and waits until it has a leader. Stop it with `make stop-ha`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

ha=.skiff/ha
pids=$ha/pids
skiff=bin/skiff
timeout=${SKIFF_HA_TIMEOUT:-60}

if [[ -s $pids ]]; then
	while read -r pid; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "run-ha: a cluster is already running (pids in $pids); stop it with: make stop-ha" >&2
			exit 1
		fi
	done <"$pids"
fi

go build -o "$skiff" ./cmd/skiff
mkdir -p "$ha"
: >"$pids"
for n in 1 2 3; do
	"$skiff" server --config "examples/ha/s$n.yaml" >"$ha/s$n.log" 2>&1 &
	echo $! >>"$pids"
done

# fail prints the end of each server's log, stops the servers and exits.
fail() {
	echo "run-ha: $*" >&2
	for n in 1 2 3; do
		echo "--- $ha/s$n.log (last 20 lines)" >&2
		tail -n 20 "$ha/s$n.log" >&2 || true
	done
	scripts/stop-ha.sh >&2 || true
	exit 1
}
trap 'fail "interrupted"' INT TERM

echo "run-ha: started servers s1 s2 s3 (pids $(tr '\n' ' ' <"$pids")); waiting up to ${timeout}s for a leader and every server ready"
deadline=$((SECONDS + timeout))
status=""
ready() {
	for i in 1 2 3; do
		curl -sf --cacert "$ha/s$i/ca.crt" "https://127.0.0.$i:7443/readyz" >/dev/null 2>&1 || return 1
	done
}
until status=$("$skiff" cluster status --config examples/ha/s1.yaml 2>&1) &&
	awk 'NR > 1 && $3 == "leader" { found = 1 } END { exit !found }' <<<"$status" && ready; do
	n=0
	while read -r pid; do
		n=$((n + 1))
		kill -0 "$pid" 2>/dev/null || fail "server s$n (pid $pid) exited"
	done <"$pids"
	((SECONDS < deadline)) || fail "no leader after ${timeout}s; last status: $status"
	sleep 0.5
done
trap - INT TERM

echo "$status"
echo
echo "run-ha: cluster is up. Logs: $ha/s1.log $ha/s2.log $ha/s3.log"
echo "run-ha: try: $skiff cluster status --config examples/ha/s1.yaml"
echo "run-ha: stop with: make stop-ha   (data stays in $ha; delete it for a fresh cluster)"
