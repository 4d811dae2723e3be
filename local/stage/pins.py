"""From imported module names to the pinned distributions that provide them, with their dependencies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


class UnknownModuleError(LookupError):
    """An imported module that no installed distribution provides (missing from requirements.lock)."""


@dataclass
class DistributionIndex:
    """Which installed distribution provides which module path (``google/cloud/firestore`` → google-cloud-firestore)."""

    providers: dict[str, set[str]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    requires: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def installed(cls) -> DistributionIndex:
        """Index the distributions of the running interpreter (the lock-pinned .venv)."""
        index = cls()
        for dist in metadata.distributions():
            name = canonicalize_name(dist.metadata["Name"])
            index.versions[name] = dist.version
            index.requires[name] = list(dist.requires or [])
            for file in dist.files or []:
                parts = list(file.parts)
                if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) or parts[0] == "..":
                    continue
                parts[-1] = parts[-1].split(".")[0]  # module.py / ext.cpython-311-x86_64-linux-gnu.so → module
                for depth in range(1, len(parts) + 1):
                    index.providers.setdefault("/".join(parts[:depth]), set()).add(name)
        return index

    def provider(self, candidates: tuple[str, ...]) -> str:
        """The one distribution providing the first candidate module path that has exactly one provider.

        Each candidate is tried from its full dotted path up to its top package; a path shared by several
        distributions (a namespace such as ``google.cloud``) cannot decide, so the next candidate is tried.
        """
        for module in candidates:
            parts = module.split(".")
            for depth in range(len(parts), 0, -1):
                dists = self.providers.get("/".join(parts[:depth]), set())
                if len(dists) == 1:
                    return next(iter(dists))
                if len(dists) > 1:
                    break  # a namespace: shorter paths are shared even more widely
        raise UnknownModuleError(f"no installed distribution provides {candidates[0]!r}; pin it in requirements.lock")

    def closure(self, roots: Iterable[str]) -> dict[str, str]:
        """``{distribution: version}`` for ``roots`` and everything they require (extras followed)."""
        pinned: dict[str, str] = {}
        pending: list[tuple[str, frozenset[str]]] = [(canonicalize_name(r), frozenset()) for r in roots]
        done: set[tuple[str, frozenset[str]]] = set()
        while pending:
            name, extras = pending.pop()
            if (name, extras) in done:
                continue
            done.add((name, extras))
            if name not in self.versions:
                raise UnknownModuleError(f"{name} is required but not installed; add it to requirements.lock")
            pinned[name] = self.versions[name]
            for text in self.requires.get(name, []):
                req = Requirement(text)
                wanted = ["", *sorted(extras)]
                if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                    continue
                pending.append((canonicalize_name(req.name), frozenset(req.extras)))
        return pinned


def requirements_text(pins: dict[str, str], header: str) -> str:
    """A pip requirements file: one ``name==version`` per line, sorted."""
    lines = [f"# {header}", *(f"{name}=={version}" for name, version in sorted(pins.items()))]
    return "\n".join(lines) + "\n"
