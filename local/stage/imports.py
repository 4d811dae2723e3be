"""Which third-party modules a bundle of code imports (following ``spreadpilot`` imports into the package)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

SHARED_PACKAGE = "spreadpilot"


def python_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``root`` that is deployed (no caches, no tests)."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if "__pycache__" in parts or any(p in ("tests", "test") for p in parts[:-1]):
            continue
        yield path


def imported_modules(path: Path) -> set[tuple[str, ...]]:
    """What one file imports, each as candidate module names, most specific first.

    ``from google.cloud import firestore`` gives ``("google.cloud.firestore", "google.cloud")``: the name may be a
    submodule or an attribute, and only the submodule tells which distribution of a namespace package it is.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [alias.name for alias in node.names if alias.name != "*"]
            found.update((f"{node.module}.{name}", node.module) for name in names)
            if not names:
                found.add((node.module,))
    return found


def shared_module_file(shared_root: Path, module: str) -> Path | None:
    """The file of a ``spreadpilot[.x]`` module under ``shared_root``, if it is one."""
    parts = module.split(".")
    base = shared_root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(code_roots: Iterable[Path], shared_root: Path) -> set[tuple[str, ...]]:
    """Module names outside the standard library, the bundle's own code and ``spreadpilot``.

    ``spreadpilot`` modules are followed: a function that imports ``spreadpilot.store`` needs Firestore even though
    its own files never name it. Only the shared modules actually reached are followed.
    """
    roots = list(code_roots)
    local_tops = {p.name.removesuffix(".py") for root in roots for p in root.iterdir()} | {r.name for r in roots}
    pending = [f for root in roots for f in python_files(root)]
    seen: set[Path] = set()
    external: set[tuple[str, ...]] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for candidates in imported_modules(path):
            top = candidates[0].split(".")[0]
            if top == SHARED_PACKAGE:
                targets = [t for t in (shared_module_file(shared_root, m) for m in candidates) if t is not None]
                if targets:
                    pending.append(targets[0])
                    # A package's __init__ runs on any import of its modules.
                    pending.append(shared_root / SHARED_PACKAGE / "__init__.py")
            elif top in sys.stdlib_module_names or top in local_tops or top == "__future__":
                continue
            else:
                external.add(candidates)
    return external
