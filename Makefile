# sparkify-dbt: `make run` and `make test` set themselves up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARCHIVE := $(VENV)/.spark-archive
# the java Spark's launcher runs (JAVA_HOME's, else PATH's): a new one makes the archive again
JAVA_BIN := $(realpath $(firstword $(wildcard $(JAVA_HOME)/bin/java) $(shell command -v java 2>/dev/null)))
# the installer of both venvs: uv, from PyPI into .venv. It installs the versions pip would,
# in 45 s instead of 85 (.venv) and 10 s instead of 46 (.venv-airflow) on a fresh clone
# (BENCHMARKS.md, "Sixth round"). --compile-bytecode, as pip does: where
# PYTHONDONTWRITEBYTECODE is set, nothing else writes the .pyc files, and every dbt and
# Airflow process would compile what it imports again.
UV_PIN := uv~=0.13.9
UV := $(BIN)/uv
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir profiles
SOURCE ?=
DOCS_PORT ?= 8080
DASHBOARD_PORT ?= 8501
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 3
BENCH_RUNS ?= 1
# where `make rules` parses the project (dbt-bouncer.yml reads it from there)
CHECK_TARGET_PATH := target/check
STATE ?= .state/prod-artifacts
PROD_MANIFEST ?=

.PHONY: help setup run dev test test-fast test-long lint typecheck docs dashboard report clean
.PHONY: check lint-sql fix rules coverage-catalog prod-artifacts ci-slim
.PHONY: spark-server spark-server-stop spark-server-status bench bench-thrift bench-smoke
.PHONY: bench-cluster bench-devloop
.PHONY: collector bench-collect
.PHONY: airflow airflow-up airflow-down

# Airflow (docs/orchestration.md): its own venv, pinned by pyproject's `airflow` extra
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: SOURCE=<dir or s3://bucket/prefix> (run), DOCS_PORT=$(DOCS_PORT) (docs)," \
	  "DASHBOARD_PORT=$(DASHBOARD_PORT) (dashboard)"

setup: $(STAMP) $(ARCHIVE) ## create .venv, install pinned dependencies, write the Spark conf and class archive

$(UV):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV_PIN)' 2>&1 | { grep -v "^WARNING: Location" || true; }; test $${PIPESTATUS[0]} -eq 0

$(STAMP): pyproject.toml $(UV)
	@command -v java >/dev/null || { echo "error: Java 17+ is required (apt-get install openjdk-17-jre-headless)"; exit 2; }
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	$(BIN)/python -m ingest spark-conf
	@touch $@
# `spark-conf` writes the conf of SPARKIFY_METASTORE (docs/metastore.md): with the default
# `derby` it needs nothing more; with `postgres` it also creates the metastore's database and
# schema, and stops with a clear error when the PostgreSQL server cannot be reached or the JDBC
# driver is missing (`apt-get install libpostgresql-jdbc-java`, done by .ci/run).

# `spark-archive` records the classes a Spark driver loads into an archive that later drivers
# map instead of reading pyspark's jars (about a minute, once; docs/targets.md). Spark runs
# without it. `make test` makes it beside mypy and the checks, which need no Spark. Made again
# after a new pyspark (pyproject.toml) or java.
$(ARCHIVE): $(STAMP) $(JAVA_BIN)
	$(BIN)/python -m ingest spark-archive || echo "warning: no class-data-sharing archive: Spark starts without it"
	@touch $@

run: setup ## run the whole pipeline on the embedded Spark (SOURCE=... for other raw data)
	$(BIN)/python -m ingest pipeline $(if $(SOURCE),--source "$(SOURCE)")

dev: setup ## the dev loop: dbt build on a warm Spark JVM, again at each save (after make run; Ctrl-C stops)
	$(BIN)/python -m ingest dev $(if $(SELECT),--select $(SELECT))

# The suite on PYTEST_WORKERS pytest-xdist workers (0: in this process), a module's tests on
# one worker (tests/conftest.py); --durations=25: every run ends with its 25 slowest tests
# .venv-airflow's install, mypy and make check are independent: they run side by side.
test: $(STAMP) ## type-check, make check, the whole test suite
	$(MAKE) --no-print-directory -j3 --output-sync=target airflow typecheck check $(ARCHIVE)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

FAST_TESTS := not spark and not postgres and not aws and not browser and not dbt and not faults \
  and not airflow

test-fast: setup ## the tests that need no JVM, database, moto, browser, dbt run or Airflow (under a minute)
	$(BIN)/pytest -m "$(FAST_TESTS)" $(PYTEST_ARGS)

test-long: setup airflow ## the tests that take minutes each (a second streamed day; Airflow standalone)
	$(BIN)/pytest -m long $(PYTEST_ARGS)

lint: $(STAMP) ## ruff on the Python code, and its import layers (.importlinter)
	$(BIN)/ruff check ingest tests checks bench dashboards orchestration
	$(BIN)/lint-imports --no-cache --no-logo

typecheck: $(STAMP) ## mypy --strict on the ingest, bench, checks and dashboards packages, and the Airflow DAGs
	$(BIN)/mypy
	MYPYPATH=orchestration/airflow/dags $(BIN)/mypy --explicit-package-bases orchestration/airflow/dags orchestration/airflow/pins.py

docs: setup ## generate the dbt docs and serve them on 127.0.0.1 (port: DOCS_PORT)
	$(DBT) docs generate $(DBT_FLAGS)
	$(DBT) docs serve $(DBT_FLAGS) --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# --- The dashboard over the marts (docs/dashboard.md): SPARKIFY_TARGET says whose marts
# (default spark: the warehouse's parquet files, read by DuckDB without a JVM).
dashboard: setup ## serve the Streamlit dashboard on 127.0.0.1 (port: DASHBOARD_PORT)
	$(BIN)/streamlit run dashboards/app.py --server.headless true --server.address 127.0.0.1 \
	  --server.port $(DASHBOARD_PORT) --browser.gatherUsageStats false

report: setup ## the dashboard's charts as PNG files and one HTML file in target/report/
	$(BIN)/python -m ingest report

# --- A local Spark Thrift Server (as on EMR) for the spark_thrift dbt target: its own JVM; with
# SPARKIFY_METASTORE=postgres the session's warehouse and metastore (it serves `make run`'s
# marts), with the Derby default its own in .state/spark-thrift. Port: SPARKIFY_THRIFT_PORT.
spark-server: setup ## start the local Spark Thrift Server on 127.0.0.1 (SPARKIFY_THRIFT_PORT, default 10000)
	$(BIN)/python -m ingest spark-server start

spark-server-stop: setup ## stop the local Spark Thrift Server that spark-server started
	$(BIN)/python -m ingest spark-server stop

spark-server-status: setup ## pid, port and uptime of the local Spark Thrift Server (exit 3: not running)
	$(BIN)/python -m ingest spark-server status

# --- The HTTP collection API in front of the Kinesis stream (docs/collector.md)
STREAM ?=
collector: setup ## serve the event collection API on 127.0.0.1:8088 (STREAM=name, or SPARKIFY_STREAM)
	$(BIN)/python -m ingest collect $(if $(STREAM),--stream "$(STREAM)")

clean: ## remove generated state (warehouse, metastore, landing, sample), target/ and logs/
	rm -rf .state target logs

# --- Checks on the code and the models (docs/checks-and-ci.md). None needs Spark or a warehouse.
check: $(STAMP) ## ruff, SQL lint, and the project's rules on the models (all run, then fail)
	@rc=0; \
	$(MAKE) --no-print-directory lint || rc=1; \
	$(MAKE) --no-print-directory lint-sql || rc=1; \
	$(MAKE) --no-print-directory rules || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make check: FAILED (see the problems above)"; fi; \
	exit $$rc

lint-sql: $(STAMP) ## sqlfluff on models, analyses, macros, tests/dbt, tests/generic: as Spark SQL and as Redshift
	$(BIN)/python -m checks.lint_sql

fix: setup ## apply sqlfluff's fixes to the dbt SQL, then lint it
	$(BIN)/python -m checks.lint_sql --fix

rules: $(STAMP) ## dbt-bouncer (dbt-bouncer.yml) on the manifest of `dbt parse`: docs, keys, layers, names
	$(DBT) parse $(DBT_FLAGS) --target-path $(CHECK_TARGET_PATH) --quiet
	$(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml

coverage-catalog: setup ## docs coverage of every warehouse column (needs the warehouse: dbt docs generate)
	$(DBT) docs generate $(DBT_FLAGS) --target-path $(CHECK_TARGET_PATH)
	$(BIN)/dbt-coverage compute doc --run-artifacts-dir $(CHECK_TARGET_PATH) --cov-fail-under 1.0 \
	  --cov-report $(CHECK_TARGET_PATH)/coverage.json

# --- Slim CI: build and test only what a change touches, deferring the rest to production.
prod-artifacts: setup ## save the production manifest to STATE for ci-slim (PROD_MANIFEST=<file>, else dbt parse)
	@mkdir -p $(STATE)
	@if [ -n "$(PROD_MANIFEST)" ]; then \
	  cp "$(PROD_MANIFEST)" $(STATE)/manifest.json; \
	else \
	  $(DBT) parse $(DBT_FLAGS) --target-path $(STATE) --quiet; \
	fi
	@echo "saved $(STATE)/manifest.json (target $${SPARKIFY_TARGET:-spark}): make ci-slim compares with it"

ci-slim: setup ## dbt build only state:modified+ vs STATE (default .state/prod-artifacts), --defer the rest
	@test -f $(STATE)/manifest.json || { echo "error: no $(STATE)/manifest.json: run 'make prod-artifacts' on main first, or pass STATE=<dir>"; exit 2; }
	$(DBT) ls $(DBT_FLAGS) --select state:modified+ --state $(STATE) --resource-type model --quiet
	$(DBT) build $(DBT_FLAGS) --select state:modified+ --defer --state $(STATE)

# --- Benchmarks (BENCHMARKS.md): each size generated once under .state/bench; BENCH_RUNS runs each.
bench: setup ## time the pipeline vs the PySpark and DuckDB baselines on sizes S, M and L (BENCH_RUNS=1)
	$(BIN)/python -m bench --size S --target spark --runs $(BENCH_RUNS)
	$(BIN)/python -m bench --size M --target spark --runs $(BENCH_RUNS)
	$(BIN)/python -m bench --size L --target spark --runs $(BENCH_RUNS)
	$(BIN)/python -m bench.devloop

bench-devloop: setup ## the dev loop: `dbt build` of the `make run` sample, cold and on a warm Thrift Server, per node and statement
	$(BIN)/python -m bench.devloop

bench-thrift: setup ## size S through a warm local Spark Thrift Server (started and stopped here)
	$(BIN)/python -m ingest spark-server start
	$(BIN)/python -m bench --size S --target spark_thrift --runs $(BENCH_RUNS); \
	  status=$$?; $(BIN)/python -m ingest spark-server stop; exit $$status

bench-cluster: setup ## size M on a local two-worker Spark cluster (started and stopped by the run), beside `make bench`'s local-mode M
	$(BIN)/python -m bench --size M --target spark_cluster --runs $(BENCH_RUNS)

bench-collect: setup ## the collector's load figures at 1, 10 and 50 clients (moto on loopback), into BENCHMARKS.md
	$(BIN)/python -m bench.collect

bench-smoke: setup ## the bench harness once on a tiny set, into a temp folder (tests/bench/test_bench_smoke.py)
	$(BIN)/pytest -m spark tests/bench/test_bench_smoke.py $(PYTEST_ARGS)

# --- Airflow: the DAGs of orchestration/airflow/ (docs/orchestration.md)
airflow: $(AIRFLOW_STAMP) ## create .venv-airflow: Airflow 3.3, Cosmos and the amazon provider (the `airflow` extra's pins)

$(AIRFLOW_STAMP): pyproject.toml orchestration/airflow/pins.py $(UV)
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(PYTHON) orchestration/airflow/pins.py > $(AIRFLOW_VENV)/requirements.txt
	$(UV) pip install --quiet --compile-bytecode --python $(AIRFLOW_VENV)/bin/python -r $(AIRFLOW_VENV)/requirements.txt
	@touch $@

airflow-up: setup airflow ## Airflow standalone on 127.0.0.1:8090 with the DAGs (a local S3 sample unless SPARKIFY_SOURCE)
	orchestration/airflow/standalone.sh up

airflow-down: ## stop what airflow-up started (Airflow standalone, the local S3 endpoint)
	orchestration/airflow/standalone.sh down
