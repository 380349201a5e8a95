# gjeld: the commands a newcomer needs.
# (No package-lock.json for buf: npm records only this platform's optional binary, and `npm ci` then refuses.) Everything installs into .venv from PyPI (and buf from npm, for
# contract linting), so a fresh machine needs only Python 3.11, git and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser kubectl up demo test test-fast bench-ingest bench-lookup bench-tls bench-extract bench-statistics faults protos check-protos buf lint-protos breaking lint clean-data

$(STAMP): requirements-dev.txt pyproject.toml shared/pyproject.toml protos/python/pyproject.toml \
          services/*/pyproject.toml tools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)  ## create .venv with every package, editable

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download cannot work here).
# Installed with apt-get when missing and run as root; otherwise those tests are skipped, unless GJELD_REQUIRE_BROWSER
# is set (CI sets it: there a browser test that cannot run fails the run).
browser:  ## Debian's chromium, for the browser tests of Min gjeld
	@if test -x /usr/bin/chromium; then :; \
	elif command -v apt-get >/dev/null 2>&1 && test "$$(id -u)" = 0; then \
	  echo "browser: installing Debian's chromium …"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif [ -n "$$GJELD_REQUIRE_BROWSER" ]; then echo "browser: no chromium, and apt-get cannot install it here" >&2; exit 1; \
	else echo "browser: no chromium, and apt-get cannot install it here: the browser tests are skipped" >&2; fi

# The deploy tests (tests/deploy) build the overlays with kubectl, whose kustomize must know components (v4 or newer).
# Installed with apt-get when missing and run as root: the Kubernetes project's `kubectl` package where its apt
# repository is configured, else Debian's own kubernetes-client (bookworm's, 1.20, is too old for components: the tests
# say so). Otherwise those tests are skipped, unless GJELD_REQUIRE_KUBECTL is set (CI sets it).
kubectl:  ## kubectl, for the deploy tests (kustomize build of deploy/k8s)
	@if command -v kubectl >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && test "$$(id -u)" = 0; then \
	  echo "kubectl: installing it with apt-get …"; \
	  apt-get update -qq && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
	    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null; }; \
	elif [ -n "$$GJELD_REQUIRE_KUBECTL" ]; then echo "kubectl: not installed, and apt-get cannot install it here" >&2; exit 1; \
	else echo "kubectl: not installed, and apt-get cannot install it here: the deploy tests are skipped" >&2; fi

up: $(STAMP)  ## start PostgreSQL, the four services, Min gjeld and the development ID-porten; Ctrl-C stops them
	$(BIN)/gjeld up

demo: $(STAMP)  ## tell the whole story against the running registry (run `make up` first)
	$(BIN)/gjeld demo

test: $(STAMP) browser kubectl check-protos lint-protos breaking lint  ## every check and test, against a real embedded PostgreSQL
	$(BIN)/python -m pytest

bench-ingest: $(STAMP)  ## ingest's throughput against the raw database limit (BENCH_ARGS="--debts 7100000" for the nation: prints national_seconds=… and ratio=…)
	$(BIN)/python -m gjeld_tools.bench_ingest $(BENCH_ARGS)

faults: $(STAMP)  ## kill each service 50 times under load, restart PostgreSQL: lost and duplicated counts, with a negative control
	$(BIN)/python -m gjeld_tools.faults $(FAULT_ARGS)

bench-extract: $(STAMP)  ## a score-model round for a million customers, beside the raw read of the same rows (prints ratio=…)
	$(BIN)/python -m gjeld_tools.bench_extract $(BENCH_ARGS)

bench-statistics: $(STAMP)  ## the day's debt statistics for a million debtors (no county, sandbox, register over HTTP), beside the raw aggregate (prints ratio=…)
	$(BIN)/python -m gjeld_tools.bench_statistics $(BENCH_ARGS)

bench-lookup: $(STAMP)  ## lookups/s, p50/p99 unloaded and at 70 % of peak, CPU per service, shedding at 3× peak, beside a bare echo (prints ratio=…)
	$(BIN)/python -m gjeld_tools.bench_lookup $(BENCH_ARGS)

bench-tls: $(STAMP)  ## what TLS and the certificate checks cost a lookup, with and without, same run (prints ratio=…)
	$(BIN)/python -m gjeld_tools.bench_tls $(BENCH_ARGS)

test-fast: $(STAMP)  ## the tests without the end-to-end ones
	$(BIN)/python -m pytest -m "not e2e"

protos: $(STAMP)  ## regenerate the Python code from protos/
	$(BIN)/python scripts/gen_protos.py

check-protos: $(STAMP)  ## fail if the generated code is stale
	$(BIN)/python scripts/gen_protos.py --check

# buf comes from npm. Without npm the contract checks say they are skipped, unless GJELD_REQUIRE_BUF is set (CI
# sets it: there a contract check that cannot run fails the run).
buf:
	@if command -v npm >/dev/null 2>&1; then \
	  test -x node_modules/.bin/buf || npm install --silent --no-package-lock --no-audit --no-fund; \
	elif [ -n "$$GJELD_REQUIRE_BUF" ]; then echo "buf: npm is not installed, and GJELD_REQUIRE_BUF is set" >&2; exit 1; \
	else echo "buf: npm is not installed, so buf cannot run; the contract checks are skipped" >&2; fi

lint-protos: buf  ## buf lint (STANDARD + COMMENTS)
	@if test -x node_modules/.bin/buf; then cd protos && ../node_modules/.bin/buf lint && echo "buf lint: clean"; fi

breaking: buf  ## buf breaking: the contracts against main's (persisted letters and disclosures are protobuf bytes)
	@if test -x node_modules/.bin/buf; then \
	  cd protos && ../node_modules/.bin/buf breaking --against '../.git#branch=main,subdir=protos' \
	    && echo "buf breaking: nothing broken against main"; fi

lint: $(STAMP)  ## ruff and mypy over our code (generated code excluded)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-data:  ## forget the development data (.data/)
	rm -rf .data
