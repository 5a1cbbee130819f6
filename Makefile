# The whole set-up lives here: `make dev` and `make test` work on a fresh clone.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: dev test lint check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Run PCEM on this machine (embedded PostgreSQL and Redis under ./.pcem/).
dev: $(BIN)/.installed
	$(BIN)/pcem dev

## Run the whole test suite (real PostgreSQL/Redis if local, else embedded ones), in
## two worker processes, each with its own database, Redis databases and RabbitMQ vhost.
test: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist worksteal

## Lint and type-check.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## What CI runs.
check: test lint

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
