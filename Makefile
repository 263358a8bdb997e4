# streamfix — the few commands people type. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export STREAMFIX_TEST_KAFKA_PORT ?= 19192

.DEFAULT_GOAL := help
.PHONY: help setup test-tools demo test kcat test-unit test-integration lint typecheck bench kafka-up kafka-down kafka-status clean

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv, install streamfix with dev and bench extras, resolve the Kafka broker (no root needed)
	@$(BIN)/python -c "from streamfix.kafka.local import LocalKafka; from streamfix.runtime.settings import Settings; print('kafka jars:', LocalKafka(Settings()).resolve())"

test-tools: setup ## System tools only the tests use (promtool, systemd-analyze, Chromium); skipped without root
	scripts/install-deploy-tools.sh
	scripts/install-browser.sh

demo: setup ## Start Kafka and a worker, replay the bundled sample logs, print the patterns
	$(BIN)/streamfix demo

lint: setup ## ruff, mypy --strict and the import contracts (lint-imports)
	$(BIN)/ruff check streamfix agents tests benchmarks scripts
	$(BIN)/mypy --strict streamfix agents
	$(BIN)/lint-imports

typecheck: lint

test: setup test-tools kcat lint ## Lint, type-check and run every test (starts and stops a local Kafka broker)
	$(BIN)/pytest -q -p no:cacheprovider

kcat: ## Install kcat (Debian kafkacat) for the foreign-client test, when missing and run as root
	@command -v kcat >/dev/null || command -v kafkacat >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && { apt-get update -qq && apt-get install -y -qq kafkacat; }; } || \
	  echo "kcat is not installed and this is not root (apt-get install kafkacat): the foreign-client test is skipped"

test-unit: setup ## Unit tests only (nothing running)
	$(BIN)/pytest -q tests/unit

test-integration: setup test-tools ## Integration tests against a real local Kafka
	$(BIN)/pytest -q tests/integration

bench: setup ## Run the benchmarks and rewrite docs/benchmarks.md
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } || echo "wrk not installed: the API benchmark falls back to its Python client"
	$(BIN)/python benchmarks/run_all.py --write docs/benchmarks.md

kafka-up: setup ## Start the local Kafka broker on 127.0.0.1 (STREAMFIX_KAFKA_PORT, default 9092)
	$(BIN)/streamfix kafka up

kafka-down: ## Stop the local Kafka broker
	$(BIN)/streamfix kafka down

kafka-status: ## Is the local broker running and answering?
	$(BIN)/streamfix kafka status

clean: ## Remove caches (keeps .venv and the Kafka jars)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
