"""The first-party module graph: every file a principal's entry points reach through imports.

Modules are looked up under the principal's source roots (a function's folder and ``shared/``; the VM's
``gateway-vm``, ``gateway-vm/deploy`` and ``shared/``), as the deployed bundle lays them out. Imports anywhere in a
file count, including the ones inside functions (an adapter imports its Google client lazily).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Module:
    """One parsed source file."""

    name: str
    path: Path
    tree: ast.Module = field(compare=False, repr=False)

    @cached_property
    def nodes(self) -> list[ast.AST]:
        """Every node of the file (walked once)."""
        return list(ast.walk(self.tree))

    @cached_property
    def calls(self) -> list[ast.Call]:
        """Every call in the file."""
        return [n for n in self.nodes if isinstance(n, ast.Call)]

    @cached_property
    def import_list(self) -> list[tuple[str, str | None]]:
        """``imports()``, computed once."""
        return list(self.imports())

    @cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node's parent (for "which function/class encloses this call")."""
        found: dict[ast.AST, ast.AST] = {}
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                found[child] = node
        return found

    def enclosing(self, node: ast.AST, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> ast.AST | None:
        """The nearest ancestor of ``node`` that is a ``kind``."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = self.parents.get(current)
        return current

    def imports(self) -> Iterator[tuple[str, str | None]]:
        """(module, imported name or None) for every import; relative imports made absolute."""
        package = self.name.rsplit(".", 1)[0] if "." in self.name else ""
        is_package = self.path.name == "__init__.py"
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, None
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = (self.name if is_package else package).split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    yield base, alias.name


_TREES: dict[tuple[Path, float], ast.Module] = {}


def _parse(path: Path) -> ast.Module:
    """The file's syntax tree, parsed once per content (several principals share ``shared/``)."""
    key = (path, path.stat().st_mtime)
    if key not in _TREES:
        _TREES[key] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return _TREES[key]


class CodeBase:
    """Modules under some source roots, parsed once."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = [r.resolve() for r in roots]
        self._cache: dict[Path, Module] = {}

    def find(self, dotted: str) -> Path | None:
        """The file of module ``dotted`` under the roots, or None (a third-party or standard module)."""
        parts = dotted.split(".")
        for root in self.roots:
            base = root.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def module(self, path: Path) -> Module:
        """The parsed module at ``path`` (named relative to the root it lies under)."""
        path = path.resolve()
        if path not in self._cache:
            # The deepest root: gateway-vm/deploy/supervisor is the package ``supervisor``, not ``deploy.supervisor``.
            inside = [r for r in self.roots if path.is_relative_to(r)]
            root = max(inside, key=lambda r: len(r.parts)) if inside else path.parent
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
            self._cache[path] = Module(".".join(parts), path, _parse(path))
        return self._cache[path]

    def reachable(self, entries: Iterable[Path]) -> list[Module]:
        """Every first-party module the entry files import, transitively (packages' ``__init__`` included)."""
        pending = [p.resolve() for p in entries]
        seen: dict[Path, Module] = {}
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            module = self.module(path)
            seen[path] = module
            for base, name in module.import_list:
                candidates = [f"{base}.{name}", base] if name else [base]
                parts = base.split(".")
                candidates += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run too
                for dotted in candidates:
                    found = self.find(dotted) if dotted else None
                    if found is not None and found not in seen:
                        pending.append(found)
        return sorted(seen.values(), key=lambda m: m.name)
