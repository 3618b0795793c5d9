#!/usr/bin/env bash
# bench.sh runs the store benchmarks with the etcd anchor's parameters
# (../shared/bench): 256-byte values, 1 writer × 2,000 writes, 64 and 256
# writers × 20,000 writes, then ten leader kills under a serial writer. With
# ETCD_ANCHOR=path/to/etcd-anchor.sh it runs the anchor right after, so the
# two sets of figures come from the same machine state.
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/.."
run() { go test -run '^$' -bench "$1" -benchtime "$2" -timeout 30m ./testcluster/ | grep -E 'writes=|kills=|ELECTION' | grep -v 'writes=1 ' | sed 's/^ *bench_test.go:[0-9]*: //'; }
echo "skiff store, 3 servers in one process on loopback, 256-byte values"
run 'BenchmarkPropose/clients=1/via=all$' 2000x
run 'BenchmarkPropose/clients=1/via=leader$' 2000x
run 'BenchmarkPropose/clients=64/' 20000x
run 'BenchmarkPropose/clients=256/' 20000x
run 'BenchmarkFailover' 1x
if [[ -n ${ETCD_ANCHOR:-} ]]; then
	echo
	bash "$ETCD_ANCHOR"
fi
