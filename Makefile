# smshub: two commands on a fresh machine.
#   make run   - the product on SQLite with the demo tenant and the simulator
#   make test  - ruff, mypy and pytest (SQLite, and PostgreSQL when SMSHUB_TEST_POSTGRES_URL is set)
SHELL := /bin/bash
PY ?= python3
UV = $(shell command -v uv 2>/dev/null || echo "$(PY) -m uv")
CHROMIUM ?= /usr/lib/chromium/chromium
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export UV_PYTHON_DOWNLOADS = never
export SMSHUB_DATABASE_URL ?= sqlite:///./var/smshub.db

.PHONY: run test bench lint venv uv chromium clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PY) -m uv --version >/dev/null 2>&1 || \
		$(PY) -m pip install --quiet --disable-pip-version-check uv

venv: uv
	@$(UV) sync --frozen --quiet

chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

run: venv
	@mkdir -p var
	.venv/bin/smshub db upgrade
	.venv/bin/smshub serve --demo

lint: venv
	.venv/bin/ruff check smshub tests bench
	.venv/bin/ruff format --check smshub tests bench
	.venv/bin/mypy

test: venv chromium lint
	.venv/bin/pytest -q

bench: venv
	.venv/bin/python -m bench

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
