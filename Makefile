# ticktrack - the commands a user needs. `make help` lists them.
.PHONY: help install venv up down status lint test test-unit demo bench

help:            ## this list
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

install:         ## apt packages and .venv with the pinned dependencies
	scripts/install.sh

venv:            ## only .venv with the pinned dependencies (no root, no apt)
	scripts/install.sh --venv-only

up: install      ## start Mosquitto, Kafka, InfluxDB, VictoriaLogs, Prometheus + Alertmanager (first run builds InfluxDB: 15-30 min)
	services/stack.sh up

down:            ## stop the services started by `make up`
	services/stack.sh down

status:          ## show the services
	services/stack.sh status

test: up         ## every test suite against the real services
	.venv/bin/pytest

lint: venv       ## ruff and mypy as configured in pyproject.toml
	.venv/bin/ruff check .
	.venv/bin/mypy

test-unit: venv  ## only the pure unit tests (no services, no root)
	.venv/bin/pytest tests/unit

demo: up         ## the whole platform on simulated vehicles and markets, dashboard on :8501
	scripts/demo.sh

bench: up        ## benchmarks (see bench/README.md)
	.venv/bin/python -m bench
