# The README's two commands: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: run test install lint bench bench-corpus

install:  ## uv (from PyPI) and the locked environment; no system packages needed
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --python 3.11

run: install  ## the platform on the embedded default: local S3, run queue + warm workers, Dagster UI + daemon, a sample video
	$(UV) run --frozen vidassets up

test: install lint  ## the whole test suite (real S3 server, real Dagster instance, real models)
	$(UV) run --frozen pytest

lint:
	$(UV) run --frozen ruff check vidassets vidassets_tests benchmarks

bench: install  ## speed and quality benchmarks (not part of the tests)
	$(UV) run --frozen python benchmarks/bench_frames.py

# Sensor path on warm workers vs one warm process, and a 30 s clip's upload-to-summary latency (~15 min on 2 cores).
bench-corpus: install
	$(UV) run --frozen python benchmarks/bench_corpus.py
