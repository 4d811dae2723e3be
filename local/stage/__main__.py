"""``python -m stage [--out build/stage] [--only NAME ...]``: stage every declared function and the executor."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spreadpilot.resources import resources
from stage.bundle import Staged, assemble
from stage.pins import DistributionIndex, UnknownModuleError

REPO = Path(__file__).resolve().parents[2]
EXECUTOR = "executor"


def main(argv: list[str] | None = None) -> int:
    """Stage, write the manifest, print one line per deployable; non-zero if a declared folder is missing."""
    parser = argparse.ArgumentParser(prog="python -m stage", description=__doc__)
    parser.add_argument("--repo", type=Path, default=REPO, help="repository root (default: this checkout)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/build/stage)")
    parser.add_argument("--only", action="append", default=[], help="stage only this function (repeatable)")
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    out: Path = (args.out or repo / "build" / "stage").resolve()
    out.mkdir(parents=True, exist_ok=True)

    wanted = [*list(resources().functions), EXECUTOR]
    if args.only:
        unknown = sorted(set(args.only) - set(wanted))
        if unknown:
            parser.error(f"not declared in resources.yaml: {', '.join(unknown)}")
        wanted = [name for name in wanted if name in args.only]

    index = DistributionIndex.installed()
    staged: dict[str, Staged] = {}
    missing: list[str] = []
    for name in wanted:
        source = repo / "gateway-vm" / EXECUTOR if name == EXECUTOR else repo / "functions" / name
        if not source.is_dir():
            missing.append(name)
            continue
        # The executor is a package run with `python -m executor`; a function's folder is the source root itself.
        # The VM's supervisor (and the health probe it reuses) run from the same bundle and venv, so the deploy
        # folder's imports (Secret Manager) are pinned there too.
        code = [(source, EXECUTOR), (repo / "gateway-vm" / "deploy", "")] if name == EXECUTOR else [(source, "")]
        try:
            staged[name] = assemble(name, code, repo / "shared", out, index)
        except UnknownModuleError as err:
            print(f"stage: {name}: {err}", file=sys.stderr)
            return 2

    manifest = {
        "functions": {n: s.manifest_entry() for n, s in staged.items() if n != EXECUTOR},
        "missing": missing,
    }
    if EXECUTOR in staged:
        manifest[EXECUTOR] = staged[EXECUTOR].manifest_entry()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name, item in staged.items():
        print(f"stage: {name:<14} {item.zip_path.name}  ({len(item.requirements)} pins)")
    if missing:
        print(f"stage: not built yet (no folder): {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
