# Everything sets itself up: `make demo` and `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: demo test test-slow lint format bench docs docs-check clean

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(sh scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,jax]"
	@touch $(STAMP)

$(VENV)/.docs: $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,docs]"
	@touch $@

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(JOBS) --durations=15

test-slow: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -m slow

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

docs: $(VENV)/.docs
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# Every page in headless Chromium with no network: no raw LaTeX, no TeX error, no table wider than
# the text, no link to a missing anchor; screenshots in docs/_screenshots/ to look at. Not in CI.
docs-check: docs
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium; }
	$(PY) scripts/docs_check.py

clean:
	rm -rf $(VENV) docs/_build docs/_screenshots .pytest_cache
