# LASPS — the two entry points. Both create the virtualenv from scratch when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= lasps_home/demo

.PHONY: demo test lint bench clean venv

venv: $(VENV)/.installed

# torch (`ml` extra) and Ray (`ray` extra) are optional for users but installed here so that every
# path is tested; the CPU build is pinned and installed first (as CI does) so that
# pip never resolves a multi-GB CUDA build for it.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ml,ray]'
	touch $@

## make demo: the whole loop on the built-in synthetic market, offline.
demo: venv
	$(BIN)/lasps demo --home $(DEMO_HOME)

## make test: the full test suite (what CI runs).
test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check src tests bench

bench: venv
	$(BIN)/python bench/data_bench.py

clean:
	rm -rf $(VENV) lasps_home .pytest_cache .ruff_cache
