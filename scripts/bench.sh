#!/usr/bin/env bash
# bench.sh runs the store benchmarks with the etcd anchor's parameters
# (../shared/bench): 256-byte values, 1 writer × 2,000 writes, 64 and 256
# writers × 20,000 writes, then ten leader kills under a serial writer, then
# the disk benchmarks: a write burst and the snapshot after it, raft.db's
# growth against the number of writes, and one raft.db commit after a
# compaction with bbolt's settings and Skiff's. With
# ETCD_ANCHOR=path/to/etcd-anchor.sh it runs the anchor right after, so the
# two sets of figures come from the same machine state. With
# SKIFF_API_KUBECONFIG=path/to/admin.kubeconfig it also measures the
# Kubernetes API of that running cluster (how with `make run-ha`: below).
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/.."
run() { go test -run '^$' -bench "$1" -benchtime "$2" -timeout 30m ./testcluster/ | grep -E 'writes=|kills=|ELECTION' | grep -v 'writes=1 ' | sed 's/^ *bench_test.go:[0-9]*: //'; }
echo "skiff store, 3 servers in one process on loopback, 256-byte values"
run 'BenchmarkPropose/clients=1/via=all$' 2000x
run 'BenchmarkPropose/clients=1/via=leader$' 2000x
run 'BenchmarkPropose/clients=1/via=follower$' 2000x
run 'BenchmarkPropose/clients=64/' 20000x
run 'BenchmarkPropose/clients=256/' 20000x
run 'BenchmarkFailover' 1x

# The disk benchmarks print their figures as "disk: " lines on stdout.
echo
echo "skiff store on disk, default Raft tuning (SKIFF_BURST_RATE sets the burst benchmark's base rate, default 1000/s)"
uptime
go test -run '^$' -bench 'BenchmarkDiskBurst' -benchtime 1x -timeout 30m ./testcluster/ | grep -E '^disk: '
go test -run '^$' -bench 'BenchmarkRaftDBGrowth' -benchtime 1x -timeout 30m ./testcluster/ | grep -E '^disk: ' | grep -v -E 'server [12]:'
go test -run '^$' -bench 'BenchmarkLogStoreCommit' -benchtime 1x -timeout 30m ./fsm/raftstore/ | grep -E 'entries=[0-9]+ options=' | sed 's/^ *logstore_test.go:[0-9]*: //'

# The watch benchmark prints "watch: " lines: write throughput without and
# with 1,100 watchers, whether every watcher got exactly its events, and
# the process's memory (SKIFF_WATCH_PODS sets the pods per phase).
echo
echo "watch scale: 1,000 node watchers + 100 all-pod watchers under 64 pod writers, three servers in one process"
uptime
go test -run '^$' -bench 'BenchmarkWatchScale' -benchtime 1x -timeout 30m ./testcluster/ | grep -E 'watch: |FAIL|watchbench_test' | sed 's/^ *watchbench_test.go:[0-9]*: //'

# The endpoints controller: a pod's readiness flip to its EndpointSlice.
echo
echo "endpoints controller, 3 servers: pod Ready change → EndpointSlice watch event, 100 trials"
go test -run '^$' -bench 'BenchmarkReadinessToSlice' -benchtime 1x -timeout 10m ./controller/endpoints/ | grep -E 'endpoints: trials=' | sed 's/^ *bench_test.go:[0-9]*: //'

# Service networking (docs/networking.md). The netproxy benchmarks need root
# (network namespaces) and skip without it.
echo
echo "service networking: rule programming at 1,000 Services x 10 endpoints, ClusterIP vs pod IP, cluster DNS"
uptime
go test -run '^$' -bench 'BenchmarkProgram' -benchtime 50x -timeout 30m ./netproxy/ | grep -E 'Benchmark|from scratch'
go test -run '^$' -bench 'BenchmarkClusterIPvsDirect' -benchtime 1x -timeout 30m ./netproxy/ | grep -E 'ClusterIP:'
go test -run '^$' -bench 'BenchmarkQueryLoopback' -benchtime 5s -timeout 30m ./clusterdns/ | grep -E '^Benchmark'

# The Kubernetes API benchmark needs a running cluster, so `make bench` does
# not start one. Against `make run-ha`, by hand:
#   make run-ha
#   kc=.skiff/ha/s1/admin.kubeconfig
#   bin/skiff bench api --kubeconfig $kc --clients 1 --n 2000
#   bin/skiff bench api --kubeconfig $kc --clients 64 --n 20000
#   bin/skiff bench api --kubeconfig $kc --for 15s &   # then kill -9 the leader:
#   leader=$(bin/skiff cluster status --config examples/ha/s1.yaml | awk '$3 == "leader" { print substr($1, 2) }')
#   kill -9 "$(sed -n "${leader}p" .skiff/ha/pids)"; wait
#   make stop-ha
# Worker kill -9 → replacement pods Running on the other worker, ten
# trials on real processes (three servers, two workers each with its own
# containerd in its own network namespace); needs root, containerd, runc
# and the CNI plugins, and skips without them.
echo
echo "worker kill -9 → replacements elsewhere, 10 trials (testcluster/proc)"
uptime
SKIFF_BENCH_WORKER_KILL=1 go test -count=1 -run 'TestWorkerKillFigures' -v -timeout 15m ./testcluster/proc/ | grep -E 'trial|worker kill -9|SKIP|FAIL' | sed 's/^ *workerkill_bench_test.go:[0-9]*: //'

# Or point SKIFF_API_KUBECONFIG at the admin.kubeconfig of a cluster that is
# already running to have the throughput runs made here.
if [[ -n ${SKIFF_API_KUBECONFIG:-} ]]; then
	echo
	echo "skiff Kubernetes API (ConfigMap creates through client-go), 256-byte values, $SKIFF_API_KUBECONFIG"
	go build -o bin/skiff ./cmd/skiff
	for args in "--clients 1 --n 2000" "--clients 64 --n 20000" "--clients 256 --n 20000"; do
		# shellcheck disable=SC2086 # args is a list of flags
		bin/skiff bench api --kubeconfig "$SKIFF_API_KUBECONFIG" $args
	done
fi
if [[ -n ${ETCD_ANCHOR:-} ]]; then
	echo
	bash "$ETCD_ANCHOR"
fi
