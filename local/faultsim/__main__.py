"""``python -m faultsim [--seeds N] [--first S] [--seed K] [--verbose] [--jobs J] [--kinds K1,K2] [--json PATH]``.

Runs seeds ``S .. S+N-1`` (or only ``K``), prints one line per failing seed with its fault plan and the invariants
it broke, then the summary; writes it to ``out/simulate/results.json``; exits 1 if any seed failed. A single seed
(``--seed``) prints everything about its run (``--verbose`` adds the trace). The process needs
``PYTHONHASHSEED=0`` (the executor iterates over sets of strings): it re-executes itself with it if needed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

RESULTS = Path("out/simulate/results.json")
PROGRESS_EVERY = 100


def _reexec_with_fixed_hash_seed() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPREADPILOT_")} | {"PYTHONHASHSEED": "0"}
        # the same interpreter and arguments again, only the hash seed fixed (and no stray SPREADPILOT_* settings)
        os.execve(sys.executable, [sys.executable, "-m", "faultsim", *sys.argv[1:]], env)  # noqa: S606


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m faultsim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=300, help="how many seeds to run (default 300)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--seed", type=int, help="run only this seed and print everything about it")
    parser.add_argument("--verbose", action="store_true", help="every violation's message (and, with --seed, "
                                                                "the run's trace)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--kinds", default="", help="comma-separated fault kinds: exactly these, one each")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the summary ({RESULTS})")
    return parser.parse_args(argv)


def _quiet() -> None:
    # the executor logs every event; the simulator's verdicts are its invariants, not its log
    logging.disable(logging.CRITICAL)
    # every run allocates a world of short-lived objects: collect less often (~10 % faster), never the imports
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    for name in list(os.environ):
        if name.startswith("SPREADPILOT_"):
            del os.environ[name]


def _one(args: tuple[int, list[str] | None, bool]) -> object:
    from faultsim.run import run_seed

    _quiet()
    seed, kinds, keep = args
    return run_seed(seed, kinds=kinds, keep_trace=keep)


def _results(seeds: list[int], kinds: list[str] | None, jobs: int) -> Iterator[object]:
    if jobs <= 1:
        for seed in seeds:
            yield _one((seed, kinds, False))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_one, [(s, kinds, False) for s in seeds], chunksize=8)


def _single(seed: int, kinds: list[str] | None, verbose: bool) -> int:
    from faultsim.report import failure_line
    from faultsim.run import RunResult

    result = _one((seed, kinds, True))
    assert isinstance(result, RunResult)
    print(f"seed {seed}: {'FAIL' if result.failed else 'ok'} in {result.wall_s * 1000:.0f} ms "
          f"({result.virtual_s:.0f} virtual s), trace digest {result.digest}")
    print(f"plan: {result.plan.describe()}")
    for fired in result.fired:
        print(f"  struck {fired.kind} at {fired.t:.3f} s {fired.detail}")
    for line in failure_line(result, verbose=True)[1:] if result.failed else []:
        print(line)
    where = RESULTS.parent / f"seed-{seed}"
    where.mkdir(parents=True, exist_ok=True)
    (where / "trace.txt").write_text(result.trace + "\n", encoding="utf-8")
    journal = sorted(result.journal, key=lambda line: str(line["ts"]))
    (where / "journal.jsonl").write_text("".join(json.dumps(line, default=str) + "\n" for line in journal),
                                         encoding="utf-8")
    if verbose:
        print(result.trace)
    print(f"wrote {where}/trace.txt and {where}/journal.jsonl (the brokers' journal, one JSON line per event)")
    return 1 if result.failed else 0


def main(argv: list[str]) -> int:
    """Run the seeds; the exit code."""
    _reexec_with_fixed_hash_seed()
    args = _parse(argv)
    _quiet()
    from faultsim.faults import CATALOGUE
    from faultsim.report import Summary, failure_line
    from faultsim.run import RunResult

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] or None
    unknown = [k for k in kinds or [] if k not in CATALOGUE]
    if unknown:
        print(f"unknown fault kinds: {', '.join(unknown)}; known: {', '.join(CATALOGUE)}", file=sys.stderr)
        return 2
    if args.seed is not None:
        return _single(args.seed, kinds, args.verbose)
    seeds = list(range(args.first, args.first + args.seeds))
    summary = Summary()
    started = time.perf_counter()
    for n, result in enumerate(_results(seeds, kinds, args.jobs), start=1):
        assert isinstance(result, RunResult)
        summary.add(result)
        if result.failed:
            print("\n".join(failure_line(result, args.verbose)), flush=True)
        if n % PROGRESS_EVERY == 0 and n < len(seeds):
            elapsed = time.perf_counter() - started
            print(f"… {n}/{len(seeds)} seeds, {len(summary.failed)} failing, {n / elapsed:.1f} seeds/s", flush=True)
    elapsed = time.perf_counter() - started
    print()
    print("\n".join(summary.lines(elapsed)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary.to_json(elapsed, args.first), indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
