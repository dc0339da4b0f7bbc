# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
AXE_VERSION := $(shell sed -n 's/.*"axe-core": "\(.*\)".*/\1/p' package.json)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)

.PHONY: install run test test-deps lint format typecheck migration messages bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(BIN)/python deploy/local.py

test: install lint test-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# What the browser tests need beside Python: Debian's chromium, axe-core from npm.
test-deps:
	@deploy/system-packages.sh
	@test -f node_modules/axe-core/package.json && grep -q '"version": "$(AXE_VERSION)"' node_modules/axe-core/package.json || npm ci --no-audit --no-fund --silent

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy shared services

# make migration SERVICE=exchange MESSAGE="add requests"
migration: install
	$(BIN)/python -m shared.db revision $(SERVICE) "$(MESSAGE)"

# The web client's catalogues after a change of its texts (then translate the empty ones).
messages: install
	$(BIN)/python -m services.gateway.web.messages extract

bench: install
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
