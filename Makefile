# Two commands: `make demo` sets everything up, simulates the demo economy on SQLite and
# serves the API on it;
# `make test` runs lint, types, architecture contracts and the whole test suite.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

demo: $(VENV)/.installed
	$(BIN)/capillary demo

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/trade.py
	$(BIN)/python bench/certificates.py
	$(BIN)/python bench/import_memory.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/transfer_loop.py --store sqlite
	$(BIN)/python bench/transfer_loop.py --store postgresql
	$(BIN)/python bench/events.py
	$(BIN)/python bench/market.py
	$(BIN)/python bench/demo.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/risk.py
	$(BIN)/python bench/scale.py

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Capillary needs Python 3.11 or newer as $(PYTHON)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Everything the two commands, the demos and the benchmarks leave behind (a store of your
# own, capillary.db, is yours and stays).
clean:
	rm -rf $(VENV) *.egg-info build .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		.import_linter_cache bench/results capillary-demo.db* capillary-demo test-artifacts .cache capillary-ledger-demo.db* api.log
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
