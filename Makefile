# Hromada Ledger. `make demo` runs the main job; `make test` runs the tests.
SWIFT ?= swift
STORE ?= ./store

.PHONY: demo test bench build release deps clean crash-campaign fuzz bitflip-campaign browser-test pg-hosts-campaign

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product admin

## The main job: a generated multi-year history into the default store, read models built, a tour.
demo: release
	.build/release/admin demo --store $(STORE)

## Every test: the Swift suites (Swift Testing), end to end, then the dashboard in headless Chromium.
test: deps
	$(SWIFT) test
	scripts/browser-test.sh

## Figures beside the peers (sqlite-table, PostgreSQL, eventsourcing, zstd CLI) in one run.
bench: release
	scripts/bench.sh

clean:
	rm -rf .build

## kill -9 at random moments of import, appends, project, rebuild, workers, snapshot create (RUNS, SEED).
crash-campaign: release
	SELFTEST=$${SELFTEST:-1} STRICT_DEBRIS=$${STRICT_DEBRIS:-1} scripts/crash-campaign.sh

## Coverage-guided fuzzing (libFuzzer) of the frame reader and the JSON import path (FUZZ_RUNS).
fuzz: deps
	scripts/fuzz.sh

## A thousand single-bit flips in segment and frame headers and bodies: every one caught, none crashing a reader, none cutting an acknowledged event.
bitflip-campaign: build
	scripts/bitflip-campaign.sh $(FLIPS)

## The dashboard in headless Chromium against `admin serve` on a generated store (screenshots in .build/browser-test/).
browser-test: deps
	scripts/browser-test.sh

## One PostgreSQL store, appenders on three hosts (network namespaces): a link cut mid-import, imports killed with -9 mid-transaction; nothing acknowledged lost or doubled (HOSTS, ROUNDS, KILLS, CUT, SEED).
pg-hosts-campaign: release
	SELFTEST=$${SELFTEST:-1} python3 scripts/pg_hosts_campaign.py --admin .build/release/admin
