# Sluice — one binary, `sluice`. See README.md.
#
#   make demo    run the demo on embedded defaults (installs what it needs)
#   make test    everything CI runs: lint, unit, fuzz seeds, integration, e2e
#   make bench   benchmarks of every hot path, with figures
#   make fuzz    each fuzz target for a short while
#   make build   the static binary in bin/sluice
#   make lint    gofmt + go vet

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME  ?= 10s
BENCHTIME ?= 3s
# Test time bounds: each package must finish within these.
UNIT_TIMEOUT ?= 15m
E2E_TIMEOUT  ?= 20m

.PHONY: all build test test-unit test-e2e bench fuzz lint demo deps clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/sluice ./cmd/sluice

deps:
	@scripts/deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...

test: deps lint build test-unit test-e2e

# Unit, fuzz-seed and in-process integration tests of the product module.
# The race detector runs on the concurrency-heavy packages; the ingester's
# MariaDB-backed suite runs once, under it.
RACE_PKGS := ./internal/... ./namesrv/... ./broker/... ./client/... ./canal/... ./sink/...
test-unit:
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) $$($(GO) list ./... | grep -v -e '/canal' -e '/sink')
	$(GO) test -count=1 -race -timeout $(UNIT_TIMEOUT) $(RACE_PKGS)

# Black-box tests: Apache RocketMQ's Go client against `sluice` processes.
test-e2e: build
	cd e2e && SLUICE_BIN=$(CURDIR)/bin/sluice $(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./internal/... ./broker/... ./namesrv/... ./client/... ./canal/...
	$(GO) test -run '^$$' -bench 'Coltype' -benchtime $(BENCHTIME) -benchmem ./sink/coltype/
	$(GO) test -run '^$$' -bench 'BenchmarkSink$$|BenchmarkSinkChangeLog' -benchtime 1x -benchmem ./sink/
	# Peak RSS covers the whole process: the 10M-row rebuild runs alone.
	$(GO) test -run '^$$' -bench 'BenchmarkSinkRSS' -benchtime 1x -timeout 60m ./sink/
	cd e2e && SLUICE_BIN=$(CURDIR)/bin/sluice $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 30m ./...

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

demo: deps build
	bin/sluice demo

clean:
	rm -rf bin
