"""A local wheelhouse for clean-venv installs: the lock-pinned distributions of the running .venv, repacked as
wheels, so installing a staged function needs no network (the check is that its requirements.txt is complete)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def repack(dist: metadata.Distribution, out: Path) -> Path:
    """One installed distribution as a wheel: its site-packages files plus a fresh RECORD (scripts are rebuilt by
    pip from entry_points.txt)."""
    name = dist.metadata["Name"]
    files = [f for f in dist.files or [] if f.parts and f.parts[0] != ".." and "__pycache__" not in f.parts]
    info_dir = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    wheel_meta = (Path(str(dist.locate_file(info_dir))) / "WHEEL").read_text(encoding="utf-8")
    tags = [line.split(":", 1)[1].strip().split("-") for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    # Several Tag lines (py2-none-any, py3-none-any) compress into one file-name tag (py2.py3-none-any).
    tag = "-".join(".".join(dict.fromkeys(t[i] for t in tags)) for i in range(3))
    target = out / f"{name.replace('-', '_')}-{dist.version}-{tag}.whl"
    records: list[str] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as wheel:
        for file in files:
            arcname = file.as_posix()
            if arcname.endswith(("/RECORD", "/INSTALLER", "/REQUESTED", "/direct_url.json")):
                continue
            path = Path(str(dist.locate_file(file)))
            if not path.is_file():
                continue
            data = path.read_bytes()
            wheel.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        records.append(f"{info_dir}/RECORD,,")
        wheel.writestr(f"{info_dir}/RECORD", "\n".join(records) + "\n")
    return target


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``wheelhouse(requirements_txt) -> folder`` holding a wheel for each pinned distribution."""
    out = tmp_path_factory.mktemp("wheelhouse")
    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    done: set[str] = set()

    def build(requirements: Path) -> Path:
        for line in requirements.read_text(encoding="utf-8").splitlines():
            if "==" not in line or line.startswith("#"):
                continue
            name = canonicalize_name(line.split("==", 1)[0])
            if name not in done:
                repack(installed[name], out)
                done.add(name)
        return out

    return build
