# Two commands set everything up on a fresh Debian machine: `make run` and `make test`.
# The virtual environment lives in .venv/ so `.venv/bin/videoprism-serve` works afterwards.
# `make run` installs only what serving needs (the `serve` extra and ffmpeg: no torch, Ray, Playwright,
# chromium or nginx); `make test` adds training, the client tools and the test tools on top.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVE_STAMP := $(VENV)/.serve-stamp
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?=
TORCH_VERSION := 2.13.0
# PyTorch's CPU-only wheels. PyPI's Linux torch wheel is the CUDA build (several GB), so torch never comes
# from PyPI: a local CPU wheel (a find-links directory in the pip configuration) is used when there is
# one, else this index.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: run test lint typecheck unit system-deps serve-system-deps venv serve-venv torch-cpu bench report \
	reliability cluster-test clean proto

serve-venv: $(SERVE_STAMP)
venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[serve]' --config-settings editable_mode=compat
	touch $@

# Installed first and on its own, so the extras below find torch satisfied and never resolve a CUDA wheel.
torch-cpu: | $(BIN)/python
	@if $(BIN)/pip install -q --no-deps --no-index torch==$(TORCH_VERSION) 2>/dev/null; then \
		echo "torch $(TORCH_VERSION): local CPU wheel"; \
	else \
		echo "torch $(TORCH_VERSION): CPU wheel from $(TORCH_INDEX)"; \
		$(BIN)/pip install -q torch==$(TORCH_VERSION) --index-url $(TORCH_INDEX); \
	fi

$(STAMP): pyproject.toml $(SERVE_STAMP)
	$(MAKE) torch-cpu
	$(BIN)/pip install -q -e '.[serve,train,dev,client,bulk]' --config-settings editable_mode=compat
	touch $@

# The one OS package serving needs; installed only when missing.
serve-system-deps:
	@command -v ffmpeg >/dev/null 2>&1 || { \
		echo "installing OS packages: ffmpeg"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; \
	}

# OS packages the tests use (Redis, nginx for the cluster test, chromium for the browser test).
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

# The one committed copy of the gRPC stubs (videoprism_proto/, shared by server and client) from proto/;
# run after editing the .proto.
proto: $(STAMP)
	$(BIN)/python -m videoprism_proto.codegen

run: $(SERVE_STAMP) serve-system-deps
	$(BIN)/videoprism-serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) deadcode

.PHONY: deadcode
# Unused functions, classes and variables at 80 % confidence; paths and whitelist in pyproject's [tool.vulture].
deadcode: $(STAMP)
	$(BIN)/vulture

typecheck: $(STAMP)
	$(BIN)/mypy service training tests bench videoprism_client videoprism_tools videoprism_proto deploy docker
	$(BIN)/mypy videoprism_bundle

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
