# Warta: everything runs from here. `make up` starts the whole system with demo data;
# `make test` runs every test against the real stack. Both provision what is missing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
WARTA := $(BIN)/warta
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: up up-cluster down status test test-unit test-chaos test-cluster lint eval-extraction eval-nlp eval-dedup eval-pickup eval-alerts train-ner cv-ner train-summarizer train-regions train-tone eval-tone build-dictionary \
        bench-search bench-pipeline bench-alerts bench-report bench-scale bench-layout bench-crawler contracts screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (set PYTHON=...)"' \
	  || { echo "error: Python 3.11 not found. Install it (e.g. pyenv install 3.11) or run: make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

up: $(STAMP)
	$(WARTA) stack up

# Three Kafka brokers, three Elasticsearch nodes, Redis with a replica and three sentinels, in
# .stack-cluster/ next to the single-node stack; prints the variables to export (docs/operations.md).
up-cluster: $(STAMP)
	$(WARTA) stack up --cluster

down:
	@if [ -x $(WARTA) ]; then $(WARTA) stack down; $(WARTA) stack down --cluster; else echo "nothing to stop (no $(VENV))"; fi

status: $(STAMP)
	$(WARTA) stack status

test: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m tests.browser_setup
	$(PYTEST) tests

test-unit: $(STAMP)
	$(PYTEST) tests/unit

test-chaos: $(STAMP)
	$(WARTA) stack up --infra-only
	$(PYTEST) tests -m chaos

# The cluster suite (tests/cluster, marker `cluster`; `make test` skips it): brings the cluster
# stack up, runs against it, and stops it again, unless any of it was running before (then it is
# someone else's and stays up).
test-cluster: $(STAMP)
	@running=$$($(WARTA) stack status --cluster --json | $(BIN)/python -c \
	    'import json, sys; print(int(any(r["running"] for r in json.load(sys.stdin))))') || exit $$?; \
	stop() { if [ "$$running" = 0 ]; then $(WARTA) stack down --cluster; \
	         else echo "test-cluster: the cluster stack was already running; leaving it up"; fi; }; \
	$(WARTA) stack up --cluster || { rc=$$?; stop; exit $$rc; }; \
	$(PYTEST) tests/cluster -m cluster; rc=$$?; stop; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check shared services tests evals benchmarks
	$(BIN)/ruff format --check shared services tests evals benchmarks
	$(BIN)/mypy shared services

contracts: $(STAMP)
	$(BIN)/python -m shared.contracts

train-ner: $(STAMP)
	$(BIN)/python -m services.enrich.nlp.train_ner

# NER model selection by 3-fold cross-validation on the train splits (evals/results/ner_cv.json);
# trains 15 CRFs, so it runs niced.
cv-ner: $(STAMP)
	nice -n 10 $(BIN)/python -m services.enrich.nlp.cv_ner

# Tone models (services/enrich/nlp/models/tone.json); scikit-learn is a dev dependency, the product
# reads the weights without it. Guidelines, sets and numbers: docs/tone.md.
train-tone: $(STAMP)
	$(BIN)/python -m services.enrich.nlp.train_tone

# Spike alerts on generated streams: thresholds tuned on one, reported on another (docs/alerts.md).
eval-alerts: $(STAMP)
	$(BIN)/python -m evals.eval_alerts

eval-tone: $(STAMP)
	$(BIN)/python -m evals.eval_tone

train-summarizer: $(STAMP)
	$(BIN)/python -m services.enrich.nlp.train_summarizer

# Region-prominence weights by 5-fold cross-validation on the labelled tuning set
# (services/enrich/nlp/data/region_tuning.jsonl), written to services/enrich/nlp/models/regions.json.
train-regions: $(STAMP)
	nice -n 10 $(BIN)/python -m services.enrich.nlp.train_regions

build-dictionary: $(STAMP)
	$(BIN)/python -m services.enrich.nlp.build_dictionary

eval-extraction: $(STAMP)
	$(BIN)/python -m evals.eval_extraction

eval-nlp: $(STAMP)
	$(BIN)/python -m evals.eval_nlp

eval-dedup: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m evals.eval_dedup

# Press-release pickups (docs/pr-workflows.md): precision, recall and visibility on generated
# releases and rewrites in a real Elasticsearch index; evals/results/pickup.json.
eval-pickup: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m evals.eval_pickup

bench-search: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_search

bench-pipeline: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_pipeline

bench-alerts: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_alerts

bench-report: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_report

# A million articles through the indexer, measured at 100k, 300k and 1M (docs/operations.md,
# "Scale benchmark"): an hour or more on both cores. SIZES=5000,15000,50000 for a quick run.
bench-scale: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_scale $(if $(SIZES),--sizes $(SIZES))

# One index against monthly indices: bench-scale at 100k and 300k in each layout, and retention of
# the oldest ~60 days in each (docs/operations.md §9); benchmarks/results/layout.json. About 20 min.
bench-layout: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_layout

# Crawler pages/s with 1, 2 and 3 `warta ingest crawler` processes on the demo sites with simulated
# latency (loopback), and live freshness while a backfill runs; benchmarks/results/crawler.json.
bench-crawler: $(STAMP)
	$(WARTA) stack up --infra-only
	$(BIN)/python -m benchmarks.bench_crawler

screenshots: $(STAMP)
	$(BIN)/python -m tests.browser_setup
	$(BIN)/python -m docs.screenshots.take

clean: down
	rm -rf .stack artifacts
