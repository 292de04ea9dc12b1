# staffer — the two newcomer commands are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip

.PHONY: demo test bench lint install install-dev system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[dev,bench]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: install and run the one-command demo
demo: install
	$(VENV)/bin/staffer demo

## make test: install everything the suite needs and run it
test: install-dev system-deps
	$(PY) -m pytest -q

## make bench: benchmarks (speed, memory, soak); not part of the test suite
bench: install-dev system-deps
	$(PY) bench/models.py
	@if [ -f bench/daemon.py ]; then $(PY) bench/daemon.py; fi

lint: install-dev
	$(VENV)/bin/ruff check .

## Real tools the tests use: mosquitto, promtool, nats-server (Debian packages).
system-deps:
	@bash .ci/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

## make k8s-rules: regenerate deploy/k8s/prometheusrule.yaml from the Prometheus rule file
.PHONY: k8s-rules
k8s-rules:
	$(PYTHON) deploy/k8s/gen_prometheusrule.py
