# The README's two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PyPI: the one on PATH or in $(PYTHON); else pip-installed into a bootstrap venv of this clone (a Debian or
# other externally managed Python refuses `pip install` outside a venv, and an ordinary user cannot write to it).
UV_BOOTSTRAP := .uv-bootstrap
UV := $(shell if command -v uv >/dev/null 2>&1; then echo uv; \
                elif $(PYTHON) -m uv --version >/dev/null 2>&1; then echo "$(PYTHON) -m uv"; \
                else echo $(UV_BOOTSTRAP)/bin/uv; fi)

.PHONY: run test install system-deps lint bench bench-corpus
# Debian packages the tests use: espeak-ng (speech synthesized for the spoken-moderation tests) and chromium (the
# transcript page's browser test). Everything else comes from PyPI into .venv.
SYSTEM_PACKAGES := espeak-ng chromium pgbouncer

install:  ## uv (from PyPI) and the locked environment; no system packages needed
# --compile-bytecode: every server, worker and test subprocess imports dagster, torch and transformers; without .pyc
# files (PYTHONDONTWRITEBYTECODE, or a read-only venv) each one compiles them again (measured: importing
# vidassets.definitions 9.6 s -> 4.3 s on 2 shared cores).
	@$(UV) --version >/dev/null 2>&1 || { $(PYTHON) -m venv $(UV_BOOTSTRAP) && \
	  $(UV_BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv; }
	$(UV) sync --frozen --python 3.11 --compile-bytecode

run: install  ## the platform on the embedded default: local S3, run queue + warm workers, Dagster UI + daemon, a sample video
	$(UV) run --frozen vidassets up

system-deps:  ## Debian packages the tests use (apt-get, as root or through sudo), when missing
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do command -v $$pkg >/dev/null || missing="$$missing $$pkg"; done; \
	  if [ -n "$$missing" ]; then \
	    sudo=""; \
	    if [ "$$(id -u)" != 0 ]; then \
	      if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
	        echo "make test needs the Debian packages$$missing: run 'sudo apt-get install -y$$missing' (or as root without sudo), then make test again" >&2; \
	        exit 1; \
	      fi; \
	    fi; \
	    echo "installing$$missing (Debian packages used by the tests)"; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	  fi

# pytest-xdist workers for `make test` (vidassets_tests/conftest.py groups the tests); TEST_WORKERS=0: one process
TEST_WORKERS ?= 2

test: install system-deps lint  ## the whole test suite (real S3 server, real Dagster instance, real models)
	$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadgroup

# Packages the type checker holds for (pyproject.toml [tool.mypy]); extend the list as more of the code is typed.
MYPY_PATHS := vidassets/ml vidassets/media vidassets/analytics vidassets/search vidassets/storage vidassets/manifests.py \
	vidassets/model_config.py vidassets/cli vidassets/executors.py

lint:
	$(UV) run --frozen ruff check vidassets vidassets_tests benchmarks
	$(UV) run --frozen mypy $(MYPY_PATHS)

bench: install  ## speed and quality benchmarks (not part of the tests)
	$(UV) run --frozen python benchmarks/bench_frames.py

# Sensor path on warm workers vs one warm process, and a 30 s clip's upload-to-summary latency (~15 min on 2 cores).
bench-corpus: install
	$(UV) run --frozen python benchmarks/bench_corpus.py
