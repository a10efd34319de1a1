# Two commands do all the set-up on a fresh clone (Python 3.11 and make only):
#   make book   build the executed HTML book into _build/html
#   make test   run the package tests, then the site tests against _build/html
# Both create .venv when it is missing and reinstall requirements.txt when it changed.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
# Touched only after a successful, warning-free build (Sphinx writes pages even
# when it then fails on a warning, so the HTML's own mtime proves nothing).
BUILT  := _build/html/.build-ok

# Kernels that execute the chapters must be the venv's Python, whatever
# kernelspecs the user has installed elsewhere.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYTHONHASHSEED := 0
# The book's networks are tiny: one thread per process is faster than two
# (no OpenMP hand-offs) and keeps timings steady on a shared 2-core machine.
OMP_NUM_THREADS ?= 1
export OMP_NUM_THREADS

BOOK_SOURCES := _config.yml _toc.yml requirements.txt pyproject.toml $(wildcard tools/*.py) \
	$(shell find book src -type f -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)

.PHONY: book test test-package test-site benchmark clean help

help:
	@echo "make book       build the executed HTML book into _build/html"
	@echo "make test       package tests, then site tests (builds the book first if needed)"
	@echo "make benchmark  measure the build/test budgets and page sizes"
	@echo "make clean      remove _build (the venv stays)"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

# The HTML is rebuilt when any chapter, package file or setting is newer than it.
# The stamp takes the time the build *started*, so a file edited during a build
# is still newer than it and the next `make book` picks the edit up.
$(BUILT): $(STAMP) $(BOOK_SOURCES)
	@rm -f $@
	@mkdir -p $(@D) && touch $@.started
	$(PY) tools/build_book.py
	@mv $@.started $@

book: $(BUILT)

test-package: $(STAMP)
	$(PY) -m pytest tests -m "not site"

test-site: $(BUILT)
	$(PY) -m pytest tests -m site

test: $(STAMP)
	$(PY) -m pytest tests -m "not site"
	$(MAKE) --no-print-directory book
	$(PY) -m pytest tests -m site

benchmark: $(STAMP)
	$(PY) benchmarks/book_budget.py

clean:
	rm -rf _build
