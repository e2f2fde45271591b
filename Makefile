# Two commands on a fresh machine (Python 3.11+ only):
#   make serve   install and serve the API on SQLite with the bundled data
#   make test    install with test extras and run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: serve test install install-test migrate load check clean fuzz load-test bench bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

serve: install
	$(BIN)/dipevents serve

# Lint, format and type checks first (seconds), then the whole suite.
test: install-test
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

migrate: install
	$(BIN)/dipevents migrate

check: install
	$(BIN)/dipevents check data

clean:
	rm -rf $(VENV) var .pytest_cache

# Longer contract fuzzing than CI runs (schemathesis + hypothesis); FUZZ_EXAMPLES per operation.
FUZZ_EXAMPLES ?= 500
fuzz: install-test
	DIPEVENTS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py -q

# wrk at 64 connections for 30 s against a local server on 50,000 generated events, with stalled export readers
# held throughout; fails on any 5xx or timeout of the normal requests (bench/load_test.py). Installs wrk if missing.
load-test: install-test
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/load_test.py --events 50000 --connections 64 --seconds 30

# Benchmark against Datasette on the same SQLite file and against the raw SQL floor, driven by wrk (installed from
# Debian's packages if missing); writes bench/RESULTS.md (see bench/README.md). bench needs PostgreSQL at
# BENCH_PG_URL; with the data already generated it takes about 30 minutes (measured parts: bench/README.md),
# bench-quick about 4.
# BENCH_ARGS adds options, e.g. BENCH_ARGS="--pg-db 1000000=bench_shared_1m --rounds 3".
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.run --sqlite 10000,1000000 --postgresql 10000,1000000 --rounds 2 --seconds 2 $(BENCH_ARGS)

bench-quick: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.run --sqlite 10000 --postgresql 10000 --rounds 1 --seconds 1 $(BENCH_ARGS)
