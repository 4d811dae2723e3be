"""Helpers of the infrastructure checks (a unique module name: every test folder has its own conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iamcheck.terraform import parse_file

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
DEPLOY = REPO / "gateway-vm" / "deploy"
TOOLS_VENV = REPO / ".venv-checkov"


def parse_tf(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2 reads it, quotes stripped (the IAM check's parser: one reading of terraform)."""
    return parse_file(path)
