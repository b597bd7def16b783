# bont: the two commands of the README are `make run` and `make test`; `make check` is part of `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check unit bench clean

# Reinstall only when the project's metadata changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up and start bont (until the web app exists, the CLI on the embedded knowledge base)
run: $(STAMP)
	$(BIN)/bont knowledge validate
	$(BIN)/bont indications
	@echo
	@echo "Try:  $(BIN)/bont indication show chronic-migraine"
	@echo "      $(BIN)/bont product show onabotulinumtoxinA --json"
	@echo "      $(BIN)/bont knowledge audit --grade unverified"

## check: lint, types (mypy --strict), and the import direction of STYLE.md
check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: set up, run the checks and the whole test suite (SQLite and a throwaway PostgreSQL)
test: check
	./scripts/ensure-postgres.sh
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/knowledge_load.py
	$(BIN)/python bench/safety_history.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
