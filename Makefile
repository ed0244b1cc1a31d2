# Every target sets itself up: it creates .venv with Python 3.10 when missing, installs the
# project, and retrains the model when config.yml, domain.yml or data/ changed.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)

PYTHON_BIN ?= $(shell command -v python3.10 2>/dev/null || pyenv which python3.10 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
MODEL := models/current.tar.gz
# The NLU components' code shapes the features too, so a change to it retrains.
TRAINING_INPUTS := config.yml domain.yml $(shell find data/nlu data/rules data/stories -name '*.yml' 2>/dev/null) \
	$(wildcard bot/nlu/*.py) bot/vietnamese/text.py

.PHONY: help install lint train run chat test test-unit validate test-stories test-scale bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON_BIN)" || { echo "Python 3.10 is required (rasa 3.6 runs on 3.8-3.10): install it, e.g. 'pyenv install 3.10'"; exit 1; }
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)  ## create .venv and install the project

$(MODEL): $(INSTALLED) $(TRAINING_INPUTS)
	mkdir -p models
	$(PY) -m rasa train --config config.yml --domain domain.yml --data data/nlu data/rules data/stories \
	    --out models --fixed-model-name current --force
	touch $@

train: $(MODEL)  ## train the model when its inputs changed

run: $(MODEL)  ## start the assistant (web chat at http://localhost:$$PORT/webhooks/webchat/) and the staff console
	$(PY) -m bot run

chat: $(MODEL)  ## talk to the assistant in this terminal
	$(PY) -m bot chat

lint: $(INSTALLED)  ## ruff (lint and format check) and mypy (bot/, actions/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: $(INSTALLED)  ## rasa data validate
	$(PY) -m rasa data validate --fail-on-warnings --config config.yml --domain domain.yml --data data/nlu data/rules data/stories

test-unit: $(MODEL)
	$(PY) -m pytest -q

test-stories: $(MODEL)  ## dialogue test stories (tests/test_stories.yml)
	$(PY) -m rasa test core --model $(MODEL) --stories tests/test_stories.yml \
	    --fail-on-prediction-errors --out results/stories

test: lint validate test-stories test-unit  ## everything CI checks: lint, data validation, test stories, pytest

test-scale: $(MODEL)  ## two replicas behind nginx (deploy/), 50 chats x 10 messages, one replica restarted
	SCALE_TESTS=1 $(PY) -m pytest -q -s -p no:cacheprovider tests/scale/test_replicas.py

bench: $(MODEL)  ## accuracy on the held-out set, directory speed, throughput vs stock rasa init -> docs/benchmarks.md
	$(PY) -m bot bench
	$(PY) -m bot bench --load

clean:  ## remove models and runtime data (not the venv)
	rm -rf models var results
