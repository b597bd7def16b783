# bont: the two commands of the README are `make run` and `make test`; `make check` is part of `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Python writes the bytecode of what it imports, once, even where the environment asks it not to: the install
# compiles nothing (compiling every file of every package was half its time), and without this every process of
# the suite (hundreds: the command line, servers, the runs beside the main one) would compile the same modules again.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test check lint unit bench clean

# Reinstall only when the project's metadata changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	touch $(STAMP)

## run: set up and serve the fictional demo clinic on http://127.0.0.1:8000 (embedded SQLite; marked as the demo
## on every page). A real clinic runs `bont admin create USERNAME` once, then a bare `bont serve`.
run: $(STAMP)
	$(BIN)/bont knowledge validate
	$(BIN)/bont serve --demo

## lint: ruff and the import direction of STYLE.md
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

## check: lint and types (mypy --strict)
check: lint
	$(BIN)/mypy

## test: set up, run the checks and the whole test suite (SQLite and a throwaway PostgreSQL); mypy runs beside the
## suite, and the target fails when either does
test: lint
	./scripts/ensure-postgres.sh
	./scripts/ensure-chromium.sh
	./scripts/beside.sh $(BIN)/mypy $(BIN)/pytest

## bench: every benchmark of bench/ (see bench/README.md), each a ratio printed beside its target. The clinic-size
## one generates its own 100,000-patient clinic on SQLite and on a throwaway PostgreSQL: it takes minutes.
bench: $(STAMP)
	$(BIN)/python bench/knowledge_load.py
	$(BIN)/python bench/safety_history.py
	$(BIN)/python bench/medicine_lookup.py
	$(BIN)/python bench/plan_and_check.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/http_check.py
	./scripts/ensure-postgres.sh
	$(BIN)/python bench/evidence_search.py --engine sqlite
	$(BIN)/python bench/evidence_search.py --engine postgresql
	$(BIN)/python bench/clinic_scale.py --engine sqlite
	$(BIN)/python bench/clinic_scale.py --engine postgresql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
