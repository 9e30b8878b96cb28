# `make test` and `make serve` each build .venv from nothing, install, and run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test serve build check-generated lint bench clean

$(STAMP): pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	bash .ci/install-browser
	$(BIN)/ruff check .
	$(BIN)/pytest

serve: $(STAMP)
	$(BIN)/m99kg serve

build: $(STAMP)
	$(BIN)/m99kg build

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/load_graphs.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
