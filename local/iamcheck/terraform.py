"""The deployment's terraform, parsed without terraform (no binary here can ``init`` the Google provider)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and marks blocks; strip both so callers read plain values."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_file(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2 reads it, quotes stripped."""
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = dict(unquote(hcl2.load(handle)))
    return parsed


@dataclass(frozen=True)
class Terraform:
    """Every ``locals`` entry (merged) and every resource ({type: {name: body}}) of one terraform folder."""

    locals: dict[str, Any]
    resources: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, folder: Path) -> Terraform:
        """Parse every ``*.tf`` of ``folder``."""
        merged: dict[str, Any] = {}
        resources: dict[str, dict[str, Any]] = {}
        files = sorted(folder.glob("*.tf"))
        if not files:
            raise FileNotFoundError(f"{folder} has no .tf files")
        for path in files:
            doc = parse_file(path)
            for block in doc.get("locals", []):
                merged.update(block)
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    resources.setdefault(rtype, {}).update(named)
        return cls(merged, resources)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        """One resource's body; ``KeyError`` naming it if absent."""
        try:
            body: dict[str, Any] = self.resources[rtype][name]
        except KeyError:
            raise KeyError(f"terraform declares no {rtype}.{name}") from None
        return body
