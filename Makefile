# SpreadPilot — every command a developer or CI runs. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock 2>/dev/null | sha1sum | cut -c1-12)
SITE = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

FOLLOWERS ?=
SCENARIO ?= local/scenarios/normal-day.yaml
SPEED ?=
KEEP ?=
GATEWAYS ?= advisor
SEEDS ?= 300

.PHONY: system-packages
system-packages:
	@bash local/stack/system_packages.sh

.PHONY: setup lint test test-unit test-integration up down demo bench lock stage clean docs

setup: $(STAMP) paths

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | { grep -v "is ignored: it is neither" >&2 || true; }
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "setup: .venv ready"

# Source roots go on the venv's path (a .pth file), so `python -m ibsim`, `python -m executor` and tests import
# the same modules that production deploys, without packaging each folder.
.PHONY: paths
paths:
	@printf '%s\n' "$(CURDIR)/shared" "$(CURDIR)/local" "$(CURDIR)/gateway-vm" "$(CURDIR)/gateway-vm/deploy" \
	  $(foreach d,$(wildcard $(CURDIR)/functions/*/),$(patsubst %/,%,$(d))) > "$(SITE)/spreadpilot-src.pth"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup system-packages
	$(PY) -m stack.preflight
	bash local/stack/run_tests.sh $(VENV)/bin/pytest

test-unit: setup
	$(VENV)/bin/pytest -q tests/unit

test-integration: setup
	$(VENV)/bin/pytest -q tests/integration

up: setup
	$(PY) -m stack up

down: setup
	$(PY) -m stack down
	$(PY) -m stack down --state-dir .local/demo

demo: setup
	$(PY) -m demo $(if $(FOLLOWERS),--followers $(FOLLOWERS)) --scenario $(SCENARIO) $(if $(SPEED),--speed $(SPEED)) $(if $(KEEP),--keep) $(if $(filter per-follower,$(GATEWAYS)),--per-follower-gateways)

bench: setup
	$(PY) -m bench --readme README.md

# The executor's deterministic fault simulator (local/faultsim): SEEDS seeded runs, or everything about one SEED.
.PHONY: simulate
simulate: setup
	PYTHONHASHSEED=0 $(PY) -m faultsim --seeds $(SEEDS) $(if $(SEED),--seed $(SEED))

# Recompute followers' days, months, commissions and invoices from a ledger file, offline (functions/pnl/README.md).
.PHONY: pnl-replay
pnl-replay: setup
	@test -n "$(LEDGER)" || { echo "usage: make pnl-replay LEDGER=ledger.jsonl" >&2; exit 2; }
	$(PY) -m pnl.replay $(LEDGER)

docs: setup
	$(PY) -m settingsdoc README.md

# The Firebase JS SDK the web app serves, from npm at the version pinned in web/vendor/package-lock.json (no CDN):
# installed outside the served folder, then copied into web/vendor/firebase with its imports made local.
.PHONY: web-vendor
web-vendor: setup
	@rm -rf .local/npm && mkdir -p .local/npm && cp web/vendor/package.json web/vendor/package-lock.json .local/npm/
	cd .local/npm && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(PY) -m webvendor .local/npm/node_modules/firebase web/vendor/firebase

lock:
	@rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet -r requirements.txt \
	  && .venv-lock/bin/pip freeze --exclude pip > requirements.lock && rm -rf .venv-lock && echo "requirements.lock updated"

# Staging of function sources and the infrastructure checks live beside the terraform they serve.
-include terraform/make.mk

clean:
	rm -rf $(VENV) .local out .mypy_cache .ruff_cache .pytest_cache
