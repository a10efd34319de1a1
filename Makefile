# Two commands do all the set-up on a fresh clone (Python 3.11 and make only):
#   make book   build the executed HTML book into _build/html
#   make test   run the package tests, then the site tests against _build/html
# Both create .venv when it is missing and reinstall requirements.txt when it changed.
# The contributor's loop:
#   make page FILE=book/part2/optimizers.md   execute and build one chapter, run its site tests
#   make preview                              serve the book on localhost, rebuilt on save
#   make chapter NAME=part4/debugging         a new chapter from the template, added to _toc.yml

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
# Chapters executed at once (tools/build_book.py); empty: one per core.
JOBS ?=
JOBS_ARG := $(if $(JOBS),--jobs $(JOBS))
PORT ?= 8000

BOOK_SOURCES := _config.yml _toc.yml requirements.txt pyproject.toml $(wildcard tools/*.py) \
	$(shell find book src -type f -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)

.PHONY: book test test-package test-site benchmark clean help page preview chapter

help:
	@echo "make book       build the executed HTML book into _build/html (JOBS=n: chapters executed at once)"
	@echo "make test       package tests, then site tests (builds the book first if needed)"
	@echo "make page FILE=book/part2/optimizers.md"
	@echo "                execute and build one chapter, then run the site tests of its page"
	@echo "make preview    serve the book on http://127.0.0.1:$(PORT), rebuilt on save (PORT=n)"
	@echo "make chapter NAME=part4/debugging [TITLE='Debugging networks']"
	@echo "                create book/part4/debugging.md from the template and add it to _toc.yml"
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
	$(PY) tools/build_book.py $(JOBS_ARG)
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

# One chapter: execute it if it is out of date (other out-of-date chapters wait
# for `make book`), build the site incrementally, run the site tests of its page.
# The full build's stamp is left alone, so `make book` still rebuilds what is stale.
page: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make page FILE=book/part2/optimizers.md"; exit 2; }
	$(PY) tools/build_book.py --page $(FILE) $(JOBS_ARG)
	$(PY) -m pytest tests/test_site.py -m site -k "[$(basename $(patsubst ./%,%,$(FILE)))]"

preview: $(STAMP)
	$(PY) tools/preview.py --port $(PORT) $(JOBS_ARG)

chapter: $(STAMP)
	@test -n "$(NAME)" || { echo "usage: make chapter NAME=part4/debugging [TITLE='Debugging networks'] [PART='Part IV: ...']"; exit 2; }
	$(PY) tools/new_chapter.py $(NAME) $(if $(TITLE),--title "$(TITLE)") $(if $(PART),--part "$(PART)")

benchmark: $(STAMP)
	$(PY) benchmarks/book_budget.py

clean:
	rm -rf _build
