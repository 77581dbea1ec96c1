# lifecast: every target bootstraps .venv itself (Debian, Python 3.11, root or sudo for system packages).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# Debian packages the wheels need at run time: open3d links libusb-1.0 and libgomp.
SYSTEM_LIBS := libusb-1.0.so.0 libgomp.so.1
SYSTEM_PKGS := libusb-1.0-0 libgomp1

.PHONY: help demo test test-fast bench lint typecheck setup setup-dev system-deps constraints samples clean

help:
	@echo "make demo   - set up .venv and process the bundled sample scan into out/demo/"
	@echo "make test   - set up .venv (with dev tools) and run the whole test suite"
	@echo "make bench  - run the benchmarks (lifecast against its peers) and print the tables"
	@echo "make lint   - ruff + mypy"

system-deps:
	@missing=""; for lib in $(SYSTEM_LIBS); do ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
		echo "lifecast: installing system libraries for:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PKGS) >/dev/null; \
	fi

$(VENV)/.stamp-core: pyproject.toml constraints.txt | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-core Makefile
	$(PIP) install -q -c constraints.txt -e '.[dev,consent,farm,gpu]'
	@touch $@

setup: system-deps $(VENV)/.stamp-core
setup-dev: system-deps $(VENV)/.stamp-dev

demo: setup
	$(BIN)/lifecast demo -o out/demo

test: setup-dev
	$(BIN)/python -m pytest -q tests

test-fast: setup-dev
	$(BIN)/python -m pytest -q tests/unit

bench: setup-dev
	@for b in benchmarks/bm_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup-dev
	$(BIN)/ruff check core tests benchmarks sample_scans
	$(BIN)/ruff format --check core tests benchmarks sample_scans
	$(BIN)/mypy

# Rebuild the sample scan from the anny body model (needs the 'samples' extra; see sample_scans/README.md).
samples: setup-dev
	$(PIP) install -q -c constraints.txt -e '.[samples]'
	$(BIN)/python sample_scans/make_anny_head_scan.py

constraints:
	$(PIP) freeze --exclude-editable | sed 's/+cpu$$//' > constraints.txt

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
