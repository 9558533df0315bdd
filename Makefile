# Every target here is what a developer, .ci/run and Azure DevOps run alike.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TOOLS := .tools
# Tools that pin dependencies incompatible with ours (checkov pins an old boto3)
# live in a venv of their own, pinned by requirements/tools.lock.
CHECKOV := $(TOOLS)/bin/checkov
AWS := $(TOOLS)/bin/aws

.PHONY: help install tools lint typecheck test test-fast test-functional demo package bench tune soak lock clean rehearse

help:
	@echo "make demo     run the whole pipeline locally on the sample photos"
	@echo "make test     lint, type-check and run the whole test suite"
	@echo "make test-fast  the pure unit tests only (about 2 minutes; no emulator)"
	@echo "make package  build the versioned Lambda deployment zip into dist/"
	@echo "make rehearse the whole first deploy (AWS CLI path) against the embedded emulator"
	@echo "make bench    rendition throughput and quality against the textbook code and libvips"
	@echo "make tune     measure memory/CPU per image; recommend MemorySize, Timeout, cost"

$(VENV)/.installed: pyproject.toml requirements/dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c requirements/dev.lock -e '.[dev,bench]'
	touch $@

$(TOOLS)/.installed: requirements/tools.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q -r requirements/tools.lock
	touch $@

install: $(VENV)/.installed
tools: $(TOOLS)/.installed

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

typecheck: install
	$(VENV)/bin/mypy

# Parallel workers (pytest-xdist), one per core; each test file runs whole on one
# worker, so its module-scoped stacks are built once (tests/pipeline: the whole folder,
# tests/conftest.py). Every emulator listens on a free port. PARALLEL=-n0: one process.
PARALLEL ?= -n auto --dist loadfile

# The whole suite but the soaks (marked `slow`: `make soak`): unit, functional, infra,
# pipeline, integration and reliability tests; coverage combined across the workers.
test: lint typecheck tools
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $(VENV)/bin/pytest $(PARALLEL) -m "not slow" --cov --cov-report=term --cov-report=xml --junitxml=junit.xml $(PYTEST_ARGS)

# The pure tier (in-memory fakes, real Pillow): the pipeline's ordering rules, the
# grammar, imaging; about 2 minutes of CPU in one process (816 tests, 2026-12-07).
# `make test-functional` adds the handler on emulated AWS (moto in-process).
test-fast: install
	$(VENV)/bin/pytest tests/unit -m "not slow" -q $(PYTEST_ARGS)

test-functional: install
	$(VENV)/bin/pytest tests/unit tests/functional $(PARALLEL) -m "not slow" -q $(PYTEST_ARGS)

demo: install
	$(VENV)/bin/resizer demo

package: install
	$(PY) scripts/package.py $(PACKAGE_ARGS)

bench: install
	$(PY) bench/renditions.py $(BENCH_ARGS)

tune: install
	$(VENV)/bin/resizer tune $(TUNE_ARGS)

# The whole first deploy, offline (docs/first-deploy.md): bootstrap and deploy-roles
# stacks, make package, preflight, scripts/aws_cli_deploy.sh (REVIEW=1, then for real),
# the smoke test, a Renditions update with backfill, the stack's deletion. Ends with
# "rehearsal passed". REHEARSE_ARGS="--zip dist/<build>.zip" skips make package.
rehearse: install tools
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" PYTHONPATH="$(CURDIR)/src" $(PY) scripts/rehearse.py $(REHEARSE_ARGS)

# The soaks (marked `slow`, left out of `make test`): the 2,000-upload burst and the
# 600-image fault run with worker crashes (docs/reliability.md); about 10 minutes.
soak: install tools
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" RESIZER_SOAK=1 $(VENV)/bin/pytest tests -m slow -q $(PYTEST_ARGS)

# Re-resolve the pins (needs the package registry): review the diff, then commit it.
lock:
	rm -rf /tmp/resizer-lock && $(PYTHON) -m venv /tmp/resizer-lock
	/tmp/resizer-lock/bin/pip install -q -e '.[dev,bench]'
	/tmp/resizer-lock/bin/pip freeze --exclude-editable | sort > requirements/dev.lock
	rm -rf /tmp/resizer-tools && $(PYTHON) -m venv /tmp/resizer-tools
	/tmp/resizer-tools/bin/pip install -q checkov awscli
	/tmp/resizer-tools/bin/pip freeze | sort > requirements/tools.lock

clean:
	rm -rf $(VENV) $(TOOLS) dist build .pytest_cache .mypy_cache .ruff_cache .coverage coverage.xml junit.xml

# --- Azure DevOps pipeline steps (azure-pipelines.yml); each runs the same here. ---
.PHONY: cfn-lint checkov smoke deploy-tools

# What the steps holding AWS credentials run: boto3 only, every file pinned by hash,
# installed before any credential is in the job (azure-pipelines.yml).
DEPLOY_VENV := .deploy
$(DEPLOY_VENV)/.installed: requirements/deploy.lock
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install -q --require-hashes --no-deps -r requirements/deploy.lock
	touch $@
deploy-tools: $(DEPLOY_VENV)/.installed

cfn-lint: install
	$(VENV)/bin/cfn-lint infra/template.yaml infra/bootstrap.yaml infra/deploy-roles.yaml

checkov: tools
	$(CHECKOV) -f infra/template.yaml -f infra/bootstrap.yaml -f infra/deploy-roles.yaml --framework cloudformation --skip-download --quiet --compact

# Upload a photo to a deployed stack and wait for every rendition, e.g.
#   make smoke SMOKE_ARGS="--stack-name resizer-dev"   (honours AWS_ENDPOINT_URL)
smoke: install
	$(PY) scripts/smoke_test.py $(SMOKE_ARGS)
