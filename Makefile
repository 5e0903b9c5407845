# swift-audit-log: `make demo` and `make test` work on a fresh Debian machine with only the Swift toolchain.
SWIFT ?= swift

.PHONY: deps build tool demo test check-api check-page check-siem check-s3 compare-s3 openapi load test-fast torture sanitize fuzz compare benchmark clean

## Install liblz4-dev, libssl-dev and pkg-config if they are missing.
deps:
	@bash scripts/install-deps.sh

## Release build of the auditlog tool and of auditlog-serve, the server `auditlog serve` runs.
build: tool
	$(SWIFT) build -c release --product auditlog-serve

## Release builds of the auditlog tool (no HTTP stack: quick to build and to start) and of auditlog-s3, the same
## commands with object storage, which auditlog runs in its place for s3:// addresses and archived segments.
tool: deps
	$(SWIFT) build -c release --product auditlog
	$(SWIFT) build -c release --product auditlog-s3

## Generate sample events, ingest, read back, export, show stats (into ./demo-log); builds the server too, so that
## the command the demo ends with shows the log on the audit-log page at once.
demo: build
	.build/release/auditlog demo --dir demo-log --replace

## Unit, recovery, multi-process and HTTP tests (the tests run the built auditlog tool, so build it first; the fuzz
## harnesses are compiled too, not run, so that `make fuzz` keeps building), the
## API against its OpenAPI document (openapi-spec-validator, schemathesis), the OCSF and ECS exports against their
## schemas (ocsf-emitter, ecs_flat.yml), a release build of auditlog checked
## for test hooks, the audit-log page in headless Chromium, then the S3 client against a real S3 server (Ceph).
test: deps
	@bash scripts/install-deps.sh --tools --python
	$(SWIFT) build
	$(SWIFT) build --build-tests
	$(SWIFT) build --package-path Fuzz --target FuzzTargets
	$(SWIFT) test --skip-build
	@bash scripts/check-api.sh
	@bash scripts/check-siem.sh
	@bash scripts/check-release-build.sh
	@bash scripts/check-page.sh
	@bash scripts/check-s3.sh

## The S3 client against a real S3 server (Ceph's gateway, started and stopped here; part of make test).
check-s3: deps
	@bash scripts/check-s3.sh

## The audit-log page in headless Chromium with Selenium, then its speed on 1,000,000 events (PAGE_PERF=0 skips that;
## part of make test). Screenshots and timings in .build/check-page.
check-page: deps
	@bash scripts/check-page.sh

## OCSF and ECS exports of a demo log with hostile events, validated by ocsf-emitter and ECS's ecs_flat.yml (part of
## make test).
check-siem: deps
	$(SWIFT) build --product auditlog
	@bash scripts/check-siem.sh .build/debug/auditlog

## Regenerate the OpenAPI document from scripts/openapi.py.
openapi:
	python3 scripts/openapi.py > Sources/AuditLogServer/Resources/openapi.json

## The HTTP API against its OpenAPI document: openapi-spec-validator and schemathesis (part of make test).
check-api: deps
	@bash scripts/install-deps.sh --tools
	$(SWIFT) build --product auditlog
	@bash scripts/check-api.sh

## The suite without the slow tests (crash loops, power cuts, byte-by-byte sweeps, many threads).
test-fast: deps
	$(SWIFT) build
	$(SWIFT) build --build-tests
	AUDITLOG_FAST_TESTS=1 $(SWIFT) test --skip-build

## The crash loop at length: 500 SIGKILLs of a multi-threaded writer (make test runs 12).
torture: deps
	$(SWIFT) build
	$(SWIFT) build --build-tests
	AUDITLOG_TORTURE_ITERATIONS=$(or $(ITERATIONS),500) $(SWIFT) test --skip-build --filter CrashLoop

## The test suite under ThreadSanitizer, then AddressSanitizer (separate build folders; several minutes).
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) build --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	$(SWIFT) build --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= event-json record block segment index note sha256 lz4

## libFuzzer with AddressSanitizer on every parser, FUZZ_SECONDS (60) each; FUZZ_TARGETS=... picks some.
fuzz: deps
	cd Fuzz && $(SWIFT) build -c release --product auditlog-fuzz -Xswiftc -enable-testing \
		-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address
	@bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

EVENTS ?= 1000000
JSON ?=

## The log against SQLite and this machine's limits in one run, one table (EVENTS=N, JSON=path; release build).
compare: tool
	@bash scripts/install-deps.sh --benchmarks
	cd Benchmarks && $(SWIFT) build -c release --product compare
	cd Benchmarks && .build/release/compare --events $(EVENTS) --tool ../.build/release/auditlog \
		$(if $(JSON),--json $(abspath $(JSON)))

## The archive against Ceph's S3 gateway, side by side in one run: auditlog archive vs aws s3 cp of the same
## files, verify s3://… vs a local verify (EVENTS_S3=N, default 300000; release build).
compare-s3: tool
	@bash scripts/archive-bench.sh $(or $(EVENTS_S3),300000)

## auditlog serve under wrk on loopback: 500-event batches, single events from 64 connections, reads under load.
load: build
	@bash scripts/install-deps.sh --tools
	@bash scripts/load.sh $(or $(SECONDS),10)

## package-benchmark suites, checked against the committed thresholds in Benchmarks/Thresholds.
benchmark: deps
	@bash scripts/install-deps.sh --benchmarks
	cd Benchmarks && $(SWIFT) package benchmark thresholds check

clean:
	rm -rf .build .build-tsan .build-asan demo-log Benchmarks/.build Fuzz/.build .fuzz
