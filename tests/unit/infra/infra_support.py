"""Helpers of the infrastructure checks (a unique module name: every test folder has its own conftest)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
DEPLOY = REPO / "gateway-vm" / "deploy"
TOOLS_VENV = REPO / ".venv-checkov"
