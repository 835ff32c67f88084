# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= out

.PHONY: demo test bench lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(VENV)/bin/saatrial demo --out $(OUT)

test: $(VENV)/.installed-dev
	bash scripts/ensure_system_deps.sh
	$(VENV)/bin/ruff check src tests benchmarks scripts
	SAATRIAL_TEST_DATABASE_URL="$$(bash scripts/ensure_postgres.sh)" $(VENV)/bin/pytest -q

bench: $(VENV)/.installed-dev
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(OUT) saatrial-data
