# Skiff's developer entry points. `make help` lists them.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

.PHONY: help build deps test test-short test-faults run run-ha stop-ha bench bench-scheduler lint fuzz abuse demo-image docs

help:
	@echo "build       build bin/skiff"
	@echo "test        vet and run all tests with -race (what CI runs, with lint)"
	@echo "test-short  run the tests that skip long-running cases (-short)"
	@echo "test-faults 200 fault-injection runs checked for linearizability (root; ~30 min)"
	@echo "run         run a one-machine cluster: server + worker + the demo images (skiff dev)"
	@echo "run-ha      start three servers on 127.0.0.1-3 in the background"
	@echo "stop-ha     stop the servers run-ha started"
	@echo "bench       run every benchmark once"
	@echo "bench-scheduler  placement benchmark, then skiff bench scheduler on a fresh run-ha cluster"
	@echo "lint        gofmt, go vet and staticcheck"
	@echo "fuzz        run each fuzz target for FUZZTIME (default 20s)"
	@echo "abuse       send 10,000 generated bad requests to the API (TestAbuse)"
	@echo "demo-image  build bin/demo-image.tar (skiff.local/demo:v1) and bin/demo-image-v2.tar"
	@echo "docs        regenerate docs/config-reference.md from the key tables in config/"

build:
	$(GO) build -o bin/skiff ./cmd/skiff

# The demo app of examples/demo as OCI image archives for `skiff image
# import`: a static Go binary in one layer, built by ociimage (no docker, no
# registry). v2 differs only in VERSION, for the rolling-update tour.
demo-image:
	@mkdir -p bin
	$(GO) build -o bin/build-image ./internal/ociimage/cmd/build-image
	bin/build-image -pkg ./examples/demo -ref skiff.local/demo:v1 -env VERSION=v1 -port 8080 -o bin/demo-image.tar
	bin/build-image -pkg ./examples/demo -ref skiff.local/demo:v2 -env VERSION=v2 -port 8080 -o bin/demo-image-v2.tar

deps:
	@bash scripts/deps.sh

# docs/config-reference.md is generated from config's key tables;
# internal/gendocs's TestReferenceIsCurrent fails when it is stale.
docs:
	$(GO) run ./internal/gendocs -o docs/config-reference.md

# -p 1: one test binary at a time. The cluster, worker and browser tests
# each start real servers, containerd or Chromium and time their waits; two
# of them sharing two cores made waits of 30 s run out (measured in CI).
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...

test-short: deps
	$(GO) test -short -count=1 -timeout 10m ./...

# The fault tests (internal/faults) run real server processes in network
# namespaces and need root; under `make test` they do SKIFF_FAULT_RUNS=4
# runs. FAULT_RUNS and SKIFF_FAULT_SEED choose how many and which.
FAULT_RUNS ?= 200
test-faults: deps
	set -o pipefail; SKIFF_FAULT_RUNS=$(FAULT_RUNS) $(GO) test -count=1 -v -timeout 4h -run 'TestLinearizability|TestCrash' ./internal/faults/ 2>&1 | tee faults.log | grep -E '^(=== RUN|--- |    faults_test|    crash_test|PASS|FAIL|ok)'

# make run: a one-machine cluster (server + worker) on this machine, with
# the demo images where the worker imports them at start. Installs what a
# node needs (containerd, runc, CNI plugins, nftables, iproute2) when root.
run:
	@bash scripts/deps.sh run
	$(GO) build -o bin/skiff ./cmd/skiff
	@$(MAKE) --no-print-directory demo-image
	@mkdir -p .skiff/dev/worker/images
	@cp bin/demo-image.tar bin/demo-image-v2.tar .skiff/dev/worker/images/
	bin/skiff dev

run-ha:
	@bash scripts/run-ha.sh

stop-ha:
	@bash scripts/stop-ha.sh

bench: deps
	@bash scripts/bench.sh

bench-scheduler: deps
	@bash scripts/bench-scheduler.sh

lint: deps
	@files=$$(gofmt -l .); if [[ -n $$files ]]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	@bash scripts/staticcheck.sh

fuzz: deps
	@bash scripts/fuzz.sh

# TestAbuse sends SKIFF_ABUSE_N cases (400 under `make test`) to an API over
# a local store; TestAbuseCluster sends SKIFF_ABUSE_CLUSTER_N (200) to a
# three-server cluster. SKIFF_ABUSE_SEED picks the cases.
abuse: deps
	SKIFF_ABUSE_N=10000 $(GO) test -count=1 -timeout 30m -run TestAbuse ./...
