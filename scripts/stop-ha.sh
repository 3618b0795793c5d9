#!/usr/bin/env bash
# stop-ha.sh stops the servers that run-ha.sh started, by the pids it wrote.
# A pid is signalled only if it still runs `skiff server`, so a stale file
# never stops an unrelated process.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=.skiff/ha/pids
if [[ ! -f $pids ]]; then
	echo "stop-ha: no cluster started by run-ha ($pids not found)"
	exit 0
fi

running=()
while read -r pid; do
	[[ -n $pid ]] || continue
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'skiff server'; then
		kill -TERM "$pid"
		running+=("$pid")
	fi
done <"$pids"

# Servers leave gracefully (leadership transfer, gossip leave); give them time.
for pid in "${running[@]}"; do
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "stop-ha: pid $pid did not stop within 10s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
done
rm -f "$pids"
echo "stop-ha: stopped ${#running[@]} server(s)"
