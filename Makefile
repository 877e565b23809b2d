# Two commands set everything up on a fresh Debian machine: `make run` and `make test`.
# The virtual environment lives in .venv/ so `.venv/bin/videoprism-serve` works afterwards.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test lint typecheck unit system-deps venv bench report reliability cluster-test clean proto

venv: $(STAMP)

# torch is pinned and installed first, on its own, so pip takes the local CPU build and never a CUDA wheel.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[serve,train,dev,client,bulk]' --config-settings editable_mode=compat
	touch $(STAMP)

# OS packages the service and its tests use; installed only when missing.
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null 2>&1 || missing="$$missing ffmpeg"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v nginx >/dev/null 2>&1 || missing="$$missing nginx"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing OS packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP) system-deps
	$(BIN)/videoprism-serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy service training tests bench videoprism_client videoprism_tools

unit: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

# Two videoprism-serve replicas + Redis + nginx on loopback: balancing, shared cache, SIGTERM failover
# (about 30 s). Not marked slow, so `unit` (and with it `test`, i.e. CI) runs it too.
cluster-test: $(STAMP) system-deps
	$(BIN)/pytest tests/cluster -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP) system-deps
	$(BIN)/pip install -q -e '.[bench]' --config-settings editable_mode=compat
	$(BIN)/python -m bench.run_all

# docs/performance.md and docs/img/*.png from the JSON under bench/results/ (run `make bench` first).
report: $(STAMP)
	$(BIN)/python -m bench.report

# Overload, fault and leak suites against a real videoprism-serve (minutes; RELIABILITY_SCALE=3 runs longer).
reliability: $(STAMP) system-deps
	$(BIN)/pip install -q -e '.[bench]' --config-settings editable_mode=compat
	$(BIN)/pytest -m slow tests/reliability -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
