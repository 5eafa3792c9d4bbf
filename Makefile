# rlab: the two set-up commands of the README, plus conveniences.
#   make demo   venv + install + quickstart lab + claims report under results/
#   make test   venv + install with dev and docs extras (torch pinned) + ruff (lint, format check)
#               + the whole test suite
#               (tests/test_docs_build.py builds the docs site, warnings as errors)
#   make test-verl  the verl integration tests (verl 0.9.1 and the pins it needs to import on CPU)
#   make docs   the documentation site, docs/_build/html/index.html (warnings as errors)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: demo test test-verl docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[deep]"
	$(BIN)/rlab demo --out results

test: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[dev,deep,cluster,docs,llm]"
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-verl: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[dev,deep,llm]" "verl==0.9.1" "kernels==0.12.3" cachetools uvicorn fastapi
	$(BIN)/python -m pytest -p no:xdist tests/test_llm_integrations_verl.py tests/test_llm_integrations_docs.py

docs: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[deep,docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) results build *.egg-info .pytest_cache .hypothesis docs/_build docs/_generated
