# Developer entry points. Everything runs from the project's virtualenv (.venv) and the local
# broker of infra/kafka; nothing needs Docker.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE := streams/native
NATIVE_SOURCES := schemas/request_event.v1.json $(NATIVE)/Cargo.toml $(NATIVE)/Cargo.lock $(wildcard $(NATIVE)/src/*.rs $(NATIVE)/src/*/*.rs)
CARGO ?= cargo
KAFKACTL := infra/kafka/kafkactl
WITH_KAFKA := infra/with-kafka

export DISTILLWATCH_KAFKA_PORT ?= 9092
export DISTILLWATCH_BOOTSTRAP_SERVERS ?= 127.0.0.1:$(DISTILLWATCH_KAFKA_PORT)

.PHONY: venv rust chromium kafka-up kafka-down kafka-status kafka-reset topics lint native-check test demo bench

venv: $(STAMP)

# The native hot path is a Rust crate that `pip install -e .` builds (setuptools-rust).
rust:
	@command -v $(CARGO) >/dev/null 2>&1 \
	  || { echo "make: cargo not found; install Rust 1.80 or newer (rustup.rs) to build streams/native" >&2; exit 1; }

# Reinstalls whenever pyproject.toml or the native crate changes (dependencies, entry points,
# the extension module).
$(STAMP): pyproject.toml $(NATIVE_SOURCES) | rust
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "make: $(PYTHON) is older than 3.11; set PYTHON=python3.11 or newer" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

kafka-up:
	@$(KAFKACTL) start

kafka-down:
	@$(KAFKACTL) stop

kafka-status:
	@$(KAFKACTL) status

kafka-reset:
	@$(KAFKACTL) reset

topics: $(STAMP)
	$(BIN)/distillwatch topics

lint: $(STAMP)
	$(BIN)/ruff check .

# The crate's own tests (pure Rust, no interpreter) and clippy over every target.
native-check: rust
	cd $(NATIVE) && $(CARGO) test --quiet --no-default-features && $(CARGO) clippy --quiet --all-targets -- -D warnings

# The triage console's browser test drives Debian's chromium (Playwright never downloads one).
# Installed with apt when missing; without root or apt it says why and the test fails under CI.
APT_CHROMIUM := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
chromium:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	  && { $(APT_CHROMIUM) || { apt-get update -qq && $(APT_CHROMIUM); }; } >/dev/null; } \
	  || echo "make: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get: apt-get install chromium); the browser test will not pass" >&2

# Lint and the whole suite against a real broker: started for the run if it was not running,
# and stopped again afterwards only then. Exits with pytest's code (or ruff's if only it failed).
test: $(STAMP) native-check chromium
	@$(WITH_KAFKA) bash -c '\
	  $(BIN)/distillwatch topics || exit $$?; \
	  $(BIN)/ruff check .; lint=$$?; \
	  $(BIN)/pytest; tests=$$?; \
	  if [ $$tests -ne 0 ]; then exit $$tests; fi; exit $$lint'

# Every benchmark of bench/, one JSON object per line (each with a "name"), on the development
# broker (started for the run if it was not running, as for make test). BENCH_OUT keeps a copy.
BENCH_OUT ?= var/bench/latest.jsonl
BENCHES := bench.core_throughput bench.codec_throughput bench.templates bench.scaling \
  bench.memory bench.abuse bench.service_throughput bench.gateway_decide

bench: $(STAMP)
	@mkdir -p $(dir $(BENCH_OUT)) && : > $(BENCH_OUT)
	@$(WITH_KAFKA) bash -c 'set -o pipefail; \
	  for b in $(BENCHES); do \
	    echo "make bench: $$b" >&2; \
	    $(BIN)/python -m $$b | tee -a $(BENCH_OUT) || exit $$?; \
	  done'

# The demo runs on a broker of its own (separate port and data directory, wiped first), so
# earlier demos and work on the development broker never leak into what it shows.
DEMO_KAFKA := DISTILLWATCH_KAFKA_VAR=$(CURDIR)/var/demo/kafka DISTILLWATCH_KAFKA_PORT=9192 \
  DISTILLWATCH_KAFKA_CONTROLLER_PORT=9193 DISTILLWATCH_BOOTSTRAP_SERVERS=127.0.0.1:9192

demo: $(STAMP)
	@env $(DEMO_KAFKA) $(KAFKACTL) reset >/dev/null
	@env $(DEMO_KAFKA) $(WITH_KAFKA) bash -c '$(BIN)/distillwatch topics >/dev/null && $(BIN)/distillwatch demo'
