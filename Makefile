# gjeld: the commands a newcomer needs.
# (No package-lock.json for buf: npm records only this platform's optional binary, and `npm ci` then refuses.) Everything installs into .venv from PyPI (and buf from npm, for
# contract linting), so a fresh machine needs only Python 3.11, git and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install up demo test test-fast bench-ingest bench-lookup protos check-protos lint-protos lint clean-data

$(STAMP): requirements-dev.txt pyproject.toml shared/pyproject.toml protos/python/pyproject.toml \
          services/*/pyproject.toml tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)  ## create .venv with every package, editable

up: $(STAMP)  ## start PostgreSQL and the four services; Ctrl-C stops them
	$(BIN)/gjeld up

demo: $(STAMP)  ## tell the whole story against the running registry (run `make up` first)
	$(BIN)/gjeld demo

test: $(STAMP) check-protos lint-protos lint  ## every check and test, against a real embedded PostgreSQL
	$(BIN)/python -m pytest

bench-ingest: $(STAMP)  ## ingest's throughput against the raw database limit (BENCH_ARGS="--debts 7100000" for the nation)
	$(BIN)/python -m gjeld_tools.bench_ingest $(BENCH_ARGS)

bench-lookup: $(STAMP)  ## what TLS and the certificate checks cost a lookup, with and without, same run (prints ratio=…)
	$(BIN)/python -m gjeld_tools.bench_lookup $(BENCH_ARGS)

test-fast: $(STAMP)  ## the tests without the end-to-end ones
	$(BIN)/python -m pytest -m "not e2e"

protos: $(STAMP)  ## regenerate the Python code from protos/
	$(BIN)/python scripts/gen_protos.py

check-protos: $(STAMP)  ## fail if the generated code is stale
	$(BIN)/python scripts/gen_protos.py --check

lint-protos:  ## buf lint (STANDARD + COMMENTS); needs npm for buf
	@if command -v npm >/dev/null 2>&1; then \
	  test -x node_modules/.bin/buf || npm install --silent --no-package-lock --no-audit --no-fund; \
	  cd protos && ../node_modules/.bin/buf lint && echo "buf lint: clean"; \
	else echo "lint-protos: npm is not installed, so buf cannot run; skipping the contract lint" >&2; fi

lint: $(STAMP)  ## ruff and mypy over our code (generated code excluded)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-data:  ## forget the development data (.data/)
	rm -rf .data
