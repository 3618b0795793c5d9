#!/usr/bin/env bash
# bench-scheduler.sh measures the scheduler: one placement decision at
# 5,000 nodes (Go benchmark), then the whole path on a fresh local
# three-server cluster (make run-ha): 5,000 Node objects, 10,000 pods by
# 32 clients, plain and again with 10% of nodes tainted and pods spread by
# zone. NODES and PODS override the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
nodes=${NODES:-5000}
pods=${PODS:-10000}

go test -run '^$' -bench Place5000 -benchtime 2s ./scheduler/

if [[ -s .skiff/ha/pids ]] && bash scripts/stop-ha.sh >/dev/null 2>&1; then :; fi
rm -rf .skiff/ha
bash scripts/run-ha.sh >/dev/null
trap 'bash scripts/stop-ha.sh >/dev/null' EXIT
kc=.skiff/ha/s1/admin.kubeconfig
bin/skiff bench scheduler --kubeconfig "$kc" --nodes "$nodes" --pods "$pods"
bin/skiff bench scheduler --kubeconfig "$kc" --nodes "$nodes" --pods "$pods" --taint-percent 10 --spread-zones
