# Set-up and the two main jobs. Everything installs into .venv; torch's CPU build comes first so that
# the package's own range requirement (torch>=2.1,<3) installs nothing more.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.*
OUT    ?= results/audit

.PHONY: install test test-quick properties audit figure1 bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test,precision,docs]"
	touch $@

install: $(VENV)/.installed

# Everything, the long end-to-end tests (marked slow) included.
test: install
	$(PY) -m pytest -q

# The tests not marked slow: the quick check while working (README, "tests").
test-quick: install
	$(PY) -m pytest -q -m "not slow"

# The counterexample hunt: >= 200 fresh random examples per property (the test run's ci profile draws a fixed set),
# one pytest-xdist worker per core, with hypothesis's statistics (each property's decided/undecided events; a
# property that decided in too few of its examples fails).
properties: install
	$(PY) -m pytest -q tests/properties --hypothesis-profile=thorough -n auto --hypothesis-show-statistics

audit: install
	$(VENV)/bin/deflation audit --profile quick --out $(OUT) --overwrite

figure1: install
	$(VENV)/bin/deflation figure1 --out results/figure1 --overwrite

# The documentation site, into site/: warnings are errors (a broken reference, a public name without a docstring),
# and the tutorial is executed, so its figures are what the code computes now (about 2 minutes on a CPU).
docs: install
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(VENV)/bin/mkdocs build --strict --site-dir site

bench: install
	$(PY) benchmarks/run.py --quick --json

clean:
	rm -rf $(VENV) results .pytest_cache site
