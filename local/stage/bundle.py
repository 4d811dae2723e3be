"""Assemble one deployable folder and its deterministic, content-hashed zip."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stage.imports import SHARED_PACKAGE, third_party_imports
from stage.pins import DistributionIndex, requirements_text

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same code always gives the same bytes and name
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache", "tests")


@dataclass(frozen=True)
class Staged:
    """One staged deployable: its folder, zip and what it pins."""

    name: str
    folder: Path
    zip_path: Path
    sha256: str
    requirements: dict[str, str]

    def manifest_entry(self) -> dict[str, object]:
        """How terraform finds it (paths relative to the manifest's folder)."""
        return {
            "zip": self.zip_path.name,
            "folder": self.folder.name,
            "sha256": self.sha256,
            "requirements": [f"{n}=={v}" for n, v in sorted(self.requirements.items())],
        }


def assemble(
    name: str,
    code_dirs: list[tuple[Path, str]],
    shared_root: Path,
    out_dir: Path,
    index: DistributionIndex,
    always: tuple[str, ...] = (),
) -> Staged:
    """Build ``out_dir/<name>/`` from ``code_dirs`` ((source, folder inside; "" = its contents)) + spreadpilot."""
    folder = out_dir / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for source, inside in code_dirs:
        shutil.copytree(source, folder / inside if inside else folder, ignore=IGNORED, dirs_exist_ok=True)
    shutil.copytree(shared_root / SHARED_PACKAGE, folder / SHARED_PACKAGE, ignore=IGNORED)

    modules = third_party_imports([source for source, _ in code_dirs], shared_root)
    roots = {index.provider(candidates) for candidates in modules} | set(always)
    pins = index.closure(roots)
    (folder / "requirements.txt").write_text(
        requirements_text(pins, f"{name}: the distributions its imports reach, pinned as in requirements.lock"),
        encoding="utf-8",
    )
    zip_path, digest = write_zip(folder, out_dir, name)
    return Staged(name, folder, zip_path, digest, pins)


def write_zip(folder: Path, out_dir: Path, name: str) -> tuple[Path, str]:
    """Zip ``folder``'s files in sorted order with fixed metadata; name it by the first 12 hex of its sha256."""
    for stale in out_dir.glob(f"{name}-*.zip"):
        stale.unlink()
    tmp = out_dir / f".{name}.zip.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    zip_path = out_dir / f"{name}-{digest[:12]}.zip"
    tmp.replace(zip_path)
    return zip_path, digest
