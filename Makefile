# Two commands on a fresh machine: `make demo` and `make test`. Each one sets up what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STREAMING := $(VENV)/bin/streaming
DURATION ?= 60
PYTEST_ARGS ?=
# Root installs Debian packages directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck format install broker-jars observability-tools redis-tools broker-start broker-stop bench clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Resolves the Kafka jars with Maven once (skipped when KAFKA_BOOTSTRAP_SERVERS names a cluster).
broker-jars: install
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(PY) -c 'from streaming.broker import LocalBroker; b = LocalBroker(); b.check_prerequisites(); print("kafka jars:", b.install_jars())'; fi

# Prometheus and Alertmanager from Debian: promtool/amtool check the rules, a real Prometheus checks dashboards.
observability-tools:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v amtool >/dev/null || ! command -v prometheus-pushgateway >/dev/null; then \
		echo "installing prometheus, prometheus-alertmanager and prometheus-pushgateway from Debian"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q prometheus prometheus-alertmanager prometheus-pushgateway; \
		$(SUDO) systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter prometheus-pushgateway >/dev/null 2>&1 || true; \
	fi

# Redis for the recommendation cache, and Chromium with its driver for the storefront's browser tests.
redis-tools:
	@if ! command -v redis-server >/dev/null || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing redis-server, chromium and chromium-driver from Debian"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q redis-server chromium chromium-driver; \
		$(SUDO) systemctl disable --now redis-server >/dev/null 2>&1 || true; \
		$(SUDO) service redis-server stop >/dev/null 2>&1 || true; \
	fi

broker-start: broker-jars
	$(STREAMING) broker start

broker-stop: install
	$(STREAMING) broker stop

demo: broker-jars observability-tools redis-tools
	$(STREAMING) demo --duration $(DURATION)

test: broker-jars observability-tools redis-tools
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check streaming producers consumers contracts tests benchmarks
	$(VENV)/bin/ruff format --check streaming producers consumers contracts tests benchmarks
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format streaming producers consumers contracts tests benchmarks
	$(VENV)/bin/ruff check --fix streaming producers consumers contracts tests benchmarks

bench: broker-jars
	$(STREAMING) bench --out benchmarks/results/latest.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .streaming build *.egg-info
