"""``python -m stage`` bundles: a function's folder + spreadpilot + only the pins its imports reach, zipped
deterministically under a content-hash name, listed in the manifest terraform reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra_support import REPO
from packaging.utils import canonicalize_name

from stage.bundle import assemble
from stage.pins import DistributionIndex


def lock_pins() -> set[str]:
    lines = [line.strip() for line in (REPO / "requirements.lock").read_text().splitlines() if "==" in line]
    return {f"{canonicalize_name(n)}=={v}" for n, v in (line.split("==", 1) for line in lines)}


def test_a_function_bundle_pins_what_its_imports_reach_and_nothing_else(tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "main.py").write_text("import yaml\nfrom spreadpilot.errors import Rejected\n")
    staged = assemble("demo_fn", [(code, "")], REPO / "shared", tmp_path / "out", DistributionIndex.installed())
    assert set(staged.requirements) == {"pyyaml"}
    assert (staged.folder / "spreadpilot" / "resources.yaml").is_file()
    assert (staged.folder / "main.py").is_file()


def test_shared_modules_a_function_imports_bring_their_own_dependencies(tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "main.py").write_text("from spreadpilot.store import Store\n")
    staged = assemble("demo_fn", [(code, "")], REPO / "shared", tmp_path / "out", DistributionIndex.installed())
    assert "google-cloud-firestore" in staged.requirements
    assert "sendgrid" not in staged.requirements
    assert "ib-async" not in staged.requirements


def test_staging_the_same_code_twice_gives_the_same_zip_name(tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "main.py").write_text("import yaml\n")
    index = DistributionIndex.installed()
    first = assemble("demo_fn", [(code, "")], REPO / "shared", tmp_path / "a", index)
    second = assemble("demo_fn", [(code, "")], REPO / "shared", tmp_path / "b", index)
    assert first.zip_path.name == second.zip_path.name == f"demo_fn-{first.sha256[:12]}.zip"
    (code / "main.py").write_text("import yaml  # changed\n")
    third = assemble("demo_fn", [(code, "")], REPO / "shared", tmp_path / "a", index)
    assert third.zip_path.name != first.zip_path.name
    assert sorted(p.name for p in (tmp_path / "a").glob("demo_fn-*.zip")) == [third.zip_path.name]


def test_stage_writes_every_declared_function_and_the_executor_into_the_manifest(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "stage", "--out", str(tmp_path)], capture_output=True, text=True,
                            check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    from spreadpilot.resources import resources

    assert set(manifest["functions"]) == set(resources().functions)
    assert manifest["missing"] == []
    assert (tmp_path / manifest["executor"]["zip"]).is_file()
    pins = lock_pins()
    for entry in manifest["functions"].values():
        assert (tmp_path / entry["zip"]).is_file()
        assert set(entry["requirements"]) <= pins
