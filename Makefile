# Tidings — the two commands: `make dev` runs everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: dev test test-unit lint typecheck bench install migrate clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run Temporal (with its UI), the API, a worker and a local mailbox; Ctrl-C stops them all.
dev: $(STAMP)
	$(BIN)/tidings dev

## The whole test suite, after lint and type checks. Needs PostgreSQL on 127.0.0.1:5432.
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -p no:randomly $(PYTEST_ARGS)

## The fast tests alone: no database, no Temporal (tests/unit; seconds).
test-unit: $(STAMP)
	$(BIN)/pytest -q -p no:randomly tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy api workflows activities store tidings worker.py

## Benchmarks: CI-friendly scale; `make bench FULL=1` for the full scale.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(FULL),--full,)

## The documentation site (mkdocs-material, offline) into site/.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

migrate: $(STAMP)
	$(BIN)/tidings migrate

clean:
	rm -rf $(VENV) data site
