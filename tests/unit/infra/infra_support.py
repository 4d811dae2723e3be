"""Helpers of the infrastructure checks (a unique module name: every test folder has its own conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
DEPLOY = REPO / "gateway-vm" / "deploy"
TOOLS_VENV = REPO / ".venv-checkov"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and marks blocks; strip both so tests read plain values."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_tf(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2 reads it, quotes stripped."""
    with path.open(encoding="utf-8") as handle:
        return unquote(hcl2.load(handle))  # type: ignore[no-any-return]
