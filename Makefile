# The whole set-up lives here: `make dev` and `make test` work on a fresh clone.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: dev test test-fast lint check clean chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Headless Chromium for the docs' offline test (tests/e2e/test_docs_offline.py):
## installed with apt when missing and this is root with apt (as CI is). Elsewhere,
## install Chromium or point PCEM_CHROMIUM at a Chromium/Chrome binary; without
## one that test fails saying so.
chromium:
	@if [ -z "$$PCEM_CHROMIUM" ] && ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "make: no chromium (and no root apt to install it): set PCEM_CHROMIUM" >&2; \
	  fi; \
	fi

## Run PCEM on this machine (embedded PostgreSQL and Redis under ./.pcem/).
dev: $(BIN)/.installed
	$(BIN)/pcem dev

## Run the whole test suite (real PostgreSQL/Redis if local, else embedded ones), in
## worker processes, each with its own database, Redis databases and RabbitMQ vhost:
## three where PostgreSQL allows 200 connections or more (tests/conftest.py), else two.
## On two cores, since the slow tests mostly wait on real clocks (due minutes, process
## starts), a third worker brought the suite from 15.3 to 12.2 minutes here.
test: $(BIN)/.installed chromium
	$(BIN)/pytest -n auto --dist worksteal

## The loop to live in while changing code (under 2 minutes): the same suite without
## the tests marked `slow` (faults, soaks, fuzzing, real process starts and clocks),
## which `make test` and CI still run.
test-fast: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist worksteal -m "not slow"

## Lint and type-check.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## What CI runs.
check: test lint

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
