# Every target bootstraps .venv itself: a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test processes: the tests mostly wait on loopback HTTP and the database, so more than the
# CPU count pays (`make test TEST_WORKERS=0` runs in this one process).
TEST_WORKERS ?= 4
# Exact versions with their hashes (`make lock` regenerates them from pyproject.toml).
LOCK := requirements-dev.lock
UV_VERSION := 0.13.9
# make sandbox PORT=8081 ARGS="--terminal --db data/other.db"
PORT ?=
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help sandbox run test lint bench catalogs flows-check migrate lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

catalogs: $(STAMP)  ## compile locales/*.po to .mo
	@$(BIN)/pybabel compile --domain partnerbot --directory locales --statistics

sandbox: $(STAMP) catalogs  ## the bot against a local Telegram emulator, in a browser on :8080
	$(BIN)/partnerbot sandbox $(if $(PORT),--port $(PORT)) $(ARGS)

run: $(STAMP) catalogs  ## the real bot (needs BOT_TOKEN)
	@$(BIN)/partnerbot run

test: $(STAMP) catalogs  ## the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff (checks and formatting) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) catalogs  ## benchmarks, each printing one JSON line
	$(BIN)/python bench/flow_steps.py
	$(BIN)/python bench/step_cpu.py
	$(BIN)/python bench/broadcast.py
	$(BIN)/python bench/schedule.py
	$(BIN)/python bench/mixed.py

flows-check: $(STAMP) catalogs  ## validate flows/ against the locales, run flows/tests/
	$(BIN)/partnerbot flows check
	$(BIN)/partnerbot flows test

migrate: $(STAMP)  ## apply database migrations
	$(BIN)/partnerbot migrate

lock: $(STAMP)  ## pin every dependency with its hashes: requirements.lock (image), requirements-dev.lock
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	printf 'setuptools>=77\nwheel\n' | $(BIN)/uv pip compile pyproject.toml - --universal \
		--python-version 3.11 --generate-hashes --no-annotate --custom-compile-command "make lock" \
		--upgrade -q -o requirements.lock
	printf 'setuptools>=77\nwheel\n' | $(BIN)/uv pip compile pyproject.toml - --extra dev \
		--universal --python-version 3.11 --generate-hashes --no-annotate \
		--custom-compile-command "make lock" -c requirements.lock -q -o requirements-dev.lock

clean:  ## remove the virtualenv, compiled catalogs and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
	find locales -name '*.mo' -delete
