# sparkify-dbt: `make run` and `make test` set themselves up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir profiles
SOURCE ?=
DOCS_PORT ?= 8080
PYTEST_ARGS ?=

.PHONY: help setup run test lint typecheck docs clean

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: SOURCE=<dir or s3://bucket/prefix> (run), DOCS_PORT=$(DOCS_PORT) (docs)"

setup: $(STAMP) ## create .venv, install pinned dependencies, write the Spark conf

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17+ is required (apt-get install openjdk-17-jre-headless)"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v "^WARNING: Location" || true; }; test $${PIPESTATUS[0]} -eq 0
	$(BIN)/python -m ingest spark-conf
	@touch $@

run: setup ## run the whole pipeline on the embedded Spark (SOURCE=... for other raw data)
	$(BIN)/python -m ingest pipeline $(if $(SOURCE),--source "$(SOURCE)")

test: setup lint typecheck ## lint, type-check and run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup ## ruff on the Python code
	$(BIN)/ruff check ingest tests

typecheck: setup ## mypy --strict on the ingest package
	$(BIN)/mypy

docs: setup ## generate the dbt docs and serve them on 127.0.0.1 (port: DOCS_PORT)
	$(DBT) docs generate $(DBT_FLAGS)
	$(DBT) docs serve $(DBT_FLAGS) --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

clean: ## remove generated state (warehouse, metastore, landing, sample), target/ and logs/
	rm -rf .state target logs
