# 西平县城市运行管理服务平台 — two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
SCALE ?= 1
APT_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin chromium fonts-noto-cjk \
                mosquitto nodejs npm
VAR := var

.PHONY: run test stop deps system-deps python-deps assets status bench-data bench clean-var

## System packages from Debian (root installs what is missing; others get told what to install).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if command -v npm >/dev/null && command -v node >/dev/null; then \
	  missing="$$(echo "$$missing" | sed -E 's/ (nodejs|npm)\b//g')"; fi; \
	$(PYTHON) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run as root or install them)"; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $@

python-deps: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed

deps: system-deps python-deps assets

## First command: install what is missing, start PostGIS, migrate, load demo data if empty, serve.
run: deps
	@$(BIN)/cityops db up
	@$(BIN)/cityops demo load --scale $(SCALE)
	@$(BIN)/cityops start --port $(PORT) --workers $(WORKERS)

## Second command: the whole suite against a real PostGIS (a throw-away cluster).
test: deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

stop:
	@if [ -x $(BIN)/cityops ]; then $(BIN)/cityops stop; fi

status:
	@$(BIN)/cityops status

## Benchmark data: about one million components. Replaces the demo data (and demo users).
bench-data: deps
	$(BIN)/cityops demo load --scale 20 --replace

bench: deps
	$(BIN)/cityops bench
