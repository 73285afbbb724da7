# ticktrack - the commands a user needs. `make help` lists them.
.PHONY: help install up down status test test-unit test-integration demo bench

help:            ## this list
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

install:         ## apt packages and .venv with the pinned dependencies
	scripts/install.sh

up: install      ## start Mosquitto, Kafka and InfluxDB (first run builds InfluxDB: 15-30 min)
	services/stack.sh up

down:            ## stop the services started by `make up`
	services/stack.sh down

status:          ## show the services
	services/stack.sh status

test: up         ## every test suite against the real services
	.venv/bin/pytest

test-unit: install  ## only the pure unit tests (no services)
	.venv/bin/pytest tests/unit

demo: up         ## the whole platform on simulated vehicles and markets, dashboard on :8501
	scripts/demo.sh

bench: up        ## benchmarks (see bench/README.md)
	.venv/bin/python -m bench
