# The README's two commands: `make run` and `make test`. Both work on a fresh clone.
# The venv's interpreter: the distribution's CPython 3.11 where it can make a venv, else python3 on the PATH.
# Debian's is built with profile-guided and link-time optimisation and linked statically: 7 % less CPU per
# API request under load than a default source build such as pyenv's (bench/FINDINGS.md, round 7).
DISTRO_PYTHON := /usr/bin/python3.11
PYTHON ?= $(shell $(DISTRO_PYTHON) -c "import ensurepip, venv" 2>/dev/null && echo $(DISTRO_PYTHON) || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
# `make run` needs only the runtime dependencies; `make test` (and `make install`) add the dev extras.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test bench clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

# seed_demo prints the address runserver is given (HOST, PORT).
run: $(RUNTIME_STAMP)
	$(BIN)/python manage.py migrate --noinput
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production stack on one host: nginx (Debian's; installed here when missing and apt-get can) in front
# of granian, on HOST:PORT with WEB_CONCURRENCY workers (config/serve.py; docs/operations.md#make-serve).
serve: $(RUNTIME_STAMP)
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { echo "== installing nginx-light"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
	$(BIN)/python manage.py migrate --noinput
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python -m config.serve

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks against PostgreSQL (must be up): resets the bench database, writes bench/RESULTS.md.
# BENCH_SCALE=small for a quick development run (100k movements, 5 s load runs).
BENCH_SCALE ?= full
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/stockroom_bench

bench: install
	BENCH_COMMAND="make bench BENCH_SCALE=$(BENCH_SCALE)" $(BIN)/python -m bench.run --scale $(BENCH_SCALE) \
		--database-url $(BENCH_DATABASE_URL)

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache .hypothesis
