# The two commands: `make run` (the whole platform, embedded, nothing else needed) and
# `make test` (lint, types and the whole suite against real PostgreSQL and Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
PYTEST_WORKERS ?= auto

.PHONY: run test install services lint typecheck pytest bench bench-dashboard openapi-snapshot clean

run: install
	$(BIN)/python scripts/run_embedded.py

test: install services lint typecheck pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python
	touch $@

services:
	bash scripts/ensure_services.sh
	bash scripts/ensure_chromium.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

openapi-snapshot: install services
	UPDATE_OPENAPI_SNAPSHOT=1 $(BIN)/python -m pytest -q tests/api/test_openapi.py -k snapshot

bench: install services
	$(BIN)/python bench/run.py

bench-dashboard: install services
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
