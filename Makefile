# rlab: the two set-up commands of the README, plus conveniences.
#   make demo   venv + install + quickstart lab + claims report under results/
#   make test   venv + install with dev extras (torch pinned) + the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[deep]"
	$(BIN)/rlab demo --out results

test: $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[dev,deep,cluster]"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) results build *.egg-info .pytest_cache .hypothesis
