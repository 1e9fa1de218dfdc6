# The few commands a maintainer needs. Everything runs inside .venv/, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
NPM    ?= npm
# Debian's Chromium, for the browser tests; set CHROMIUM to use another build.
CHROMIUM ?= /usr/bin/chromium
# MathJax and a Chinese font, pinned in package-lock.json, are served from the built book (_ext/offline_assets.py).
ASSETS := node_modules/.installed

.PHONY: help install test unit nbval book-strict browser book lab kernel execute clean

help:
	@echo "make book      build the HTML book into _build/html"
	@echo "make test      unit tests, nbval over every notebook, strict book build, browser tests"
	@echo "make browser   build the book, then open every page in headless Chromium"
	@echo "make lab       open the notebooks in JupyterLab with the book's environment"
	@echo "make kernel    register the environment as a Jupyter kernel, 'Python (The Pooling Book)'"
	@echo "make execute   re-run every notebook top to bottom in a fresh kernel, storing the outputs"

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "$(VENV) runs Python $$($(BIN)/python -c 'import platform; print(platform.python_version())'), but the"; \
	  echo "pinned packages (d2l 1.0.3 pins numpy 1.23.5) install on Python 3.11 only."; \
	  echo "Remove $(VENV) and run again with PYTHON=python3.11."; exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

test: unit nbval book-strict browser

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope tests

# Strict nbval: every stored output of every notebook must be reproduced exactly.
nbval: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env -n $(JOBS) --dist loadscope chapters

$(ASSETS): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

# A full rebuild in which any warning fails the build.
book-strict: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# Every page of the build, served on 127.0.0.1 and opened in headless Chromium;
# screenshots go to _build/screenshots/. Skipped, with one line saying so, when
# there is no Chromium.
browser: book-strict
	@if [ -x "$(CHROMIUM)" ]; then \
	  CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -p no:cacheprovider -p no:xdist browser_tests; \
	else \
	  echo "BROWSER TESTS NOT RUN: no Chromium at $(CHROMIUM) (apt-get install chromium, or set CHROMIUM=/path/to/chromium)"; \
	fi

book: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build .
	@echo "Front page: $(CURDIR)/_build/html/index.html"

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name pooling-book --display-name "Python (The Pooling Book)"

execute: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace chapters/*.ipynb

clean:
	rm -rf _build
