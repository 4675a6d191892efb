# corridors: quick start is `make run` then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: help install run demo warmup test test-all bench bench-quick notebooks lint format clean scenarios-table

help:
	@echo "make run       create .venv, install corridors, run the main job"
	@echo "make test      warm the Numba cache, run the fast tests"
	@echo "make test-all  all tests, including those marked slow"
	@echo "make bench     every benchmark in full: old vs new, scipy, ensembles, peers (installs the bench extra)"
	@echo "make bench-quick every benchmark in --quick mode (a few minutes; CI runs it)"
	@echo "make notebooks install the notebooks extra and start JupyterLab on notebooks/"
	@echo "make lint      ruff check and format check"
	@echo "make scenarios-table  run every scenario and the baseline, write docs/scenarios.md"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "corridors needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The main job: the baseline scenario, written to results/baseline (tables, summary, plots).
run: install
	$(BIN)/corridors run baseline --out results/baseline --force

demo: install
	$(BIN)/corridors demo

warmup: install
	$(BIN)/corridors warmup

test: warmup
	$(BIN)/python -m pytest

test-all: warmup
	$(BIN)/python -m pytest -m ""

# Every benchmarks/bench_*.py script (bench_cli_run.py checks out its own 8ddd2cd), then scipy_router.py's self-check, sharing one temporary
# git worktree of the old revision (5122682); exits non-zero if any script fails. A missed
# speed target does not fail: the scripts print MISS and exit 0.
bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run_benchmarks.py

# The same in --quick mode (few repeats, 20 replicates): checks that every benchmark still runs.
# Needs only the dev extra (bench_routing skips AequilibraE when it is missing).
bench-quick: install
	$(BIN)/python benchmarks/run_benchmarks.py --quick

# The notebooks extra (JupyterLab, ipywidgets), then JupyterLab on notebooks/ with the .venv's kernel.
# JUPYTER_ARGS passes options, e.g. JUPYTER_ARGS="--no-browser --port 8890" (as root: --allow-root).
JUPYTER_ARGS ?=
notebooks: install
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	@echo "Starting JupyterLab on notebooks/ (Ctrl-C to stop; later: $(BIN)/jupyter lab notebooks/)"
	$(BIN)/jupyter lab notebooks/ $(JUPYTER_ARGS)

# docs/scenarios.md: every shipped scenario's headline indicators against the baseline in 2030
# and 2035, and its claims ([[expect]]) held or failed (tests/test_effects.py checks it is current).
scenarios-table: install
	$(BIN)/corridors scenarios --table docs/scenarios.md

lint: install
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests benchmarks notebooks
	$(BIN)/ruff check --fix src tests benchmarks notebooks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
	find src -name __pycache__ -type d -exec rm -rf {} +
