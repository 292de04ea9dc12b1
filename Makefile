# staffer — the two newcomer commands are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip

.PHONY: demo test test-fast check bench lint screenshots install install-demo install-dev system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# the daemon alone: what `staffer run` needs
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	touch $@

# plus the simulator, charts and embedded broker of `staffer demo` / `staffer simulate`
$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[demo]'
	touch $@ $(VENV)/.installed

# everything: the demo extra, test and lint tools, benchmark helpers, uvloop (fast)
$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[demo,dev,bench,fast]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-demo

install: $(VENV)/.installed
install-demo: $(VENV)/.installed-demo
install-dev: $(VENV)/.installed-dev

## make demo: install the demo extra and run the one-command demo
demo: install-demo
	$(VENV)/bin/staffer demo

## make check: the static gate (lint, formatting, types), as CI runs it
check: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## make test: install everything the suite needs and run it
test: install-dev system-deps
	$(PY) -m pytest -q

## make test-fast: the unit tests only (no brokers, no system tools), under a minute
test-fast: install-dev
	$(PY) -m pytest -q -m "not integration" tests/unit

## make bench: benchmarks (speed, memory, soak); not part of the test suite
bench: install-dev system-deps
	$(PY) bench/models.py
	@if [ -f bench/daemon.py ]; then $(PY) bench/daemon.py; fi

## make screenshots: re-take docs/img/console*.png from the console's browser test
screenshots: install-dev system-deps
	STAFFER_SCREENSHOTS=1 $(PY) -m pytest -q tests/integration/test_console.py

lint: check

## Real tools the tests use: mosquitto, promtool, nats-server (Debian packages).
system-deps:
	@bash .ci/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache

## make k8s-rules: regenerate deploy/k8s/prometheusrule.yaml from the Prometheus rule file
.PHONY: k8s-rules
k8s-rules:
	$(PYTHON) deploy/k8s/gen_prometheusrule.py
