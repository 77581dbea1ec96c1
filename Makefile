# lifecast: every target bootstraps .venv itself (Debian, Python 3.11, root or sudo for system packages).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# Debian packages the wheels need at run time: open3d links libusb-1.0 and libgomp.
SYSTEM_LIBS := libusb-1.0.so.0 libgomp.so.1
SYSTEM_PKGS := libusb-1.0-0 libgomp1
# What Qt's offscreen platform (the panel tests) links against.
UI_LIBS := libEGL.so.1 libGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libglib-2.0.so.0 libdbus-1.so.3 libX11.so.6
UI_PKGS := libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 libx11-6

.PHONY: help demo test test-fast bench lint setup setup-dev system-deps system-deps-dev constraints samples clean

help:
	@echo "make demo   - set up .venv and process the bundled sample scan into out/demo/"
	@echo "make test   - set up .venv (with dev tools) and run the whole test suite"
	@echo "make bench  - run the benchmarks (lifecast against its peers) and print the tables"
	@echo "make lint   - ruff + mypy"

# $(call apt_for,LIBS,PKGS): apt-get install PKGS when ldconfig lacks any of LIBS.
define apt_for
	@missing=""; for lib in $(1); do ldconfig -p | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
		echo "lifecast: installing system libraries for:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2) >/dev/null; \
	fi
endef

system-deps:
	$(call apt_for,$(SYSTEM_LIBS),$(SYSTEM_PKGS))

system-deps-dev: system-deps
	$(call apt_for,$(UI_LIBS),$(UI_PKGS))

$(VENV)/.stamp-core: pyproject.toml constraints.txt | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-core Makefile
	$(PIP) install -q -c constraints.txt -e '.[dev,consent,farm,gpu,ui,wrap,color]'
	@touch $@

setup: system-deps $(VENV)/.stamp-core
setup-dev: system-deps-dev $(VENV)/.stamp-dev

demo: setup
	$(BIN)/lifecast demo -o out/demo

test: setup-dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests

test-fast: setup-dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/unit

bench: setup-dev
	@for b in benchmarks/bm_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup-dev
	$(BIN)/ruff check core plugins tests benchmarks sample_scans
	$(BIN)/ruff format --check core plugins tests benchmarks sample_scans
	$(BIN)/mypy
	cd plugins/panel && ../../$(BIN)/mypy --strict -p lifecast_panel

# Rebuild the sample scan from the anny body model (needs the 'samples' extra; see sample_scans/README.md).
samples: setup-dev
	$(PIP) install -q -c constraints.txt -e '.[samples]'
	$(BIN)/python sample_scans/make_anny_head_scan.py

constraints:
	$(PIP) freeze --exclude-editable | sed 's/+cpu$$//' > constraints.txt

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
