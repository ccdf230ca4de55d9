# Tidings — the two commands: `make dev` runs everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: dev test test-unit lint typecheck bench install migrate clean docs lock k8s mutation

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

## Mutation testing (cosmic-ray) of the invariant modules; not part of `make test`: run before a release.
## `make mutation MODULES=store/digests.py` for some modules. Writes docs/mutation-results.md.
mutation: $(STAMP)
	$(BIN)/python tests/mutation/run.py $(MODULES)

## Benchmarks: CI-friendly scale; `make bench FULL=1` for the full scale.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(FULL),--full,)

## The documentation site (mkdocs-material, offline) into site/.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

migrate: $(STAMP)
	$(BIN)/tidings migrate

## Pin the runtime dependencies the image installs (deploy/Dockerfile), with hashes. Needs uv (pip install uv).
UV ?= uv
lock:
	$(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header \
		--annotation-style line -o requirements.lock

## Regenerate the plain Kubernetes manifests from the Helm chart (tests fail when they drift apart).
k8s: $(STAMP)
	{ echo "# GENERATED from deploy/helm/tidings with deploy/k8s/values.yaml by \`make k8s\`; do not edit."; \
	  echo "# Apply: kubectl apply -f deploy/k8s/tidings.yaml (the setup Job first; see deploy/README.md)."; \
	  $(BIN)/python deploy/helm/render.py deploy/helm/tidings -f deploy/k8s/values.yaml; } > deploy/k8s/tidings.yaml

clean:
	rm -rf $(VENV) data site
