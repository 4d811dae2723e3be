"""`make bench`: run every ``local/bench/*_bench.py``, write ``out/bench/results.json`` and print the table.

Each module's ``run()`` returns rows ``{"name", "value", "unit", "note"}``. A module that fails is reported as
failed (with its error) and makes the command exit non-zero; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).parent
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def discover(only: list[str]) -> list[str]:
    """Module names of the benchmarks to run."""
    names = sorted(p.stem for p in BENCH_DIR.glob("*_bench.py"))
    return [n for n in names if not only or any(o in n for o in only)]


def run_one(name: str, console: Console) -> tuple[list[dict[str, object]], str | None]:
    """Rows of one benchmark module, or its error."""
    console.print(f"[bold]bench[/] {name} …")
    started = time.monotonic()
    try:
        rows = list(importlib.import_module(f"bench.{name}").run())
    except Exception:  # isolate: one broken benchmark must not hide the others' numbers
        return [], traceback.format_exc()
    console.print(f"  {len(rows)} results in {time.monotonic() - started:.1f} s")
    return [{"module": name, **row} for row in rows], None


def markdown(rows: list[dict[str, object]]) -> str:
    """The results as a Markdown table (for the README)."""
    lines = ["| benchmark | result | unit | note |", "|---|---:|---|---|"]
    for row in rows:
        lines.append(f"| {row['name']} | {row['value']} | {row['unit']} | {row.get('note', '')} |")
    return "\n".join(lines)


def update_readme(readme: Path, rows: list[dict[str, object]], stamp: str) -> None:
    """Replace the README's benchmark section with these results."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = f"\n_Measured {stamp} on {platform.machine()}, {platform.python_version()}._\n\n{markdown(rows)}\n"
    readme.write_text(head + README_START + body + README_END + tail, encoding="utf-8")


def main() -> int:
    """Run the benchmarks and write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="run only benchmarks whose module name contains one of these")
    parser.add_argument("--out", default="out/bench/results.json")
    parser.add_argument("--readme", help="rewrite the benchmark section of this README")
    args = parser.parse_args()
    console = Console(stderr=True)
    rows: list[dict[str, object]] = []
    failures: dict[str, str] = {}
    for name in discover(args.only):
        module_rows, error = run_one(name, console)
        rows.extend(module_rows)
        if error:
            failures[name] = error
            console.print(f"[red]  failed[/]\n{error}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"measured_at": stamp, "results": rows, "failed": failures}, indent=2, default=str))
    table = Table(title=f"SpreadPilot benchmarks ({stamp})")
    for column in ("benchmark", "result", "unit", "note"):
        table.add_column(column, justify="right" if column == "result" else "left")
    for row in rows:
        table.add_row(str(row["name"]), str(row["value"]), str(row["unit"]), str(row.get("note", "")))
    Console().print(table)
    console.print(f"results: {out}")
    if args.readme:
        update_readme(Path(args.readme), rows, stamp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
