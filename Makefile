# Trubka's two commands:  make run   (set up and serve on the embedded default)
#                         make test  (install what the tests need, run every check and test)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check lint types pytest audit drills lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test-installed: requirements/test.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.base-installed

run: $(VENV)/.base-installed
	$(BIN)/trubka serve

test: $(VENV)/.test-installed
	bash scripts/install-browser
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory audit

audit: $(VENV)/.test-installed
	bash scripts/audit-deps

# Fault drills (PostgreSQL): a worker killed, the help desk down, the database cut, 10,000
# mixed notifications. About six minutes; CI runs them after the tests.
drills: $(VENV)/.test-installed
	bash drills/run

check: lint types pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy src

pytest:
	bash scripts/test-lanes

# Re-pin requirements/*.txt from pyproject.toml (needs the network to the package index).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --quiet -o requirements/base.txt
	$(BIN)/uv pip compile pyproject.toml --extra test --extra postgres --generate-hashes --quiet -o requirements/test.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
