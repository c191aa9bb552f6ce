# The two commands of the README: `make demo` (install everything, run the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps demo test check lint types imports unit test-contracts test-python bench clean

setup: $(VENV)/.installed node_modules/.installed interop/digitalbazaar/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# `npm ci`: exactly the lock, which it never rewrites (.ci/run fails if anything did). The lock holds
# anvil's binaries for every platform; package.json's override points js-ipfs's optional `headless`
# (a GitHub tarball, unreachable here and never needed: electron is not used) at an empty package.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The Digital Bazaar cross-check's own packages (interop/digitalbazaar/README.md), pinned by its lock.
interop/digitalbazaar/node_modules/.installed: interop/digitalbazaar/package.json interop/digitalbazaar/package-lock.json
	npm ci --prefix interop/digitalbazaar --no-audit --no-fund
	touch $@

demo: setup
	$(BIN)/certledger demo

test: system-deps test-contracts test-python

# The fast lane, before every commit (about a minute): lint and format, types, the import
# contracts (the layers of docs/architecture.md), and the unit tests on every core.
check: lint types imports unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup
	$(BIN)/mypy

imports: setup
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest -q -n auto -m 'not slow' tests/unit

# PostgreSQL, Chromium and wrk from apt, for the integration and browser tests and the service
# benchmarks (skipped when present).
system-deps:
	bash scripts/install-system-deps.sh

test-contracts: setup
	npx hardhat test

test-python: setup
	$(BIN)/pytest

bench: setup system-deps
	$(BIN)/python -m bench

clean:
	rm -rf build .pytest_cache .hypothesis
