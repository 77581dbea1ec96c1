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
# The Blender add-on tests run in real Blender: the bpy wheel in its own venv (Python 3.11 only, and it pins
# numpy<2, so it never shares .venv). What `ldd` finds its modules (bpy/__init__.so, libusd_ms, MaterialX) link
# from the system; libc, libstdc++, libuuid and the GPU drivers (dlopened only when there is a GPU) aside.
BLENDER_VENV := .venv-blender
BLENDER_PYTHON ?= $(shell command -v python3.11)
BLENDER_PIP_SPEC := bpy==5.0.1 "numpy<2"
BLENDER_LIBS := libX11.so.6 libXext.so.6 libXi.so.6 libXrender.so.1 libXfixes.so.3 libXt.so.6 libSM.so.6 libICE.so.6 \
	libxkbcommon.so.0 libGL.so.1 libOpenGL.so.0
BLENDER_PKGS := libx11-6 libxext6 libxi6 libxrender1 libxfixes3 libxt6 libsm6 libice6 libxkbcommon0 libgl1 libopengl0

.PHONY: help demo test test-fast bench lint setup setup-dev setup-blender system-deps system-deps-dev \
	system-deps-blender constraints samples clean

help:
	@echo "make demo   - set up .venv and process the bundled sample scan into out/demo/"
	@echo "make test   - set up .venv (with dev tools) and .venv-blender (bpy, for the add-on tests) and run all tests"
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

system-deps-blender:
	$(call apt_for,$(BLENDER_LIBS),$(BLENDER_PKGS))

$(VENV)/.stamp-core: pyproject.toml constraints.txt | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-core Makefile
	$(PIP) install -q -c constraints.txt -e '.[dev,consent,farm,gpu,ui,wrap,color]'
	@touch $@

$(BLENDER_VENV)/.stamp: Makefile | system-deps-blender
	@test -n "$(BLENDER_PYTHON)" || { echo "lifecast: the Blender venv needs python3.11 (the bpy wheel is built for it)"; exit 1; }
	@test -x $(BLENDER_VENV)/bin/python || $(BLENDER_PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install -q $(BLENDER_PIP_SPEC)
	@touch $@

setup: system-deps $(VENV)/.stamp-core
setup-dev: system-deps-dev $(VENV)/.stamp-dev
setup-blender: system-deps-blender $(BLENDER_VENV)/.stamp

demo: setup
	$(BIN)/lifecast demo -o out/demo

test: setup-dev setup-blender
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
	# The Maya and Houdini adapters, strict, against the types-maya / types-houdini stubs (missing stubs are errors).
	$(BIN)/mypy --config-file plugins/maya/mypy.ini
	$(BIN)/mypy --config-file plugins/houdini/mypy.ini
	# The add-on's bpy-free modules; register() imports bpy lazily, which has no stubs here.
	cd plugins/blender && ../../$(BIN)/mypy --strict --follow-imports=silent -m lifecast_blender -m lifecast_blender.protocol \
		-m lifecast_blender.run_state -m lifecast_blender.jobs -m lifecast_blender.landmarks \
		-m lifecast_blender.worker_client -m lifecast_blender.session

# Rebuild the sample scan from the anny body model (needs the 'samples' extra; see sample_scans/README.md).
samples: setup-dev
	$(PIP) install -q -c constraints.txt -e '.[samples]'
	$(BIN)/python sample_scans/make_anny_head_scan.py

constraints:
	$(PIP) freeze --exclude-editable | sed 's/+cpu$$//' > constraints.txt

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
