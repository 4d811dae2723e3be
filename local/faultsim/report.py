"""The summary of many runs: failing seeds with their plans, faults by kind, failures by invariant, coverage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from faultsim.faults import CATALOGUE
from faultsim.invariants import INVARIANTS
from faultsim.run import RunResult


@dataclass
class Summary:
    """Accumulates ``RunResult``s."""

    runs: int = 0
    failed: list[RunResult] = field(default_factory=list)
    struck_runs: Counter[str] = field(default_factory=Counter)  # kind → runs where it struck
    strikes: Counter[str] = field(default_factory=Counter)  # kind → times it struck
    planned: Counter[str] = field(default_factory=Counter)  # kind → runs where it was planned
    failing_seeds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    exercised: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    foreign: list[int] = field(default_factory=lambda: [0, 0])
    wall_s: float = 0.0
    virtual_s: float = 0.0

    def add(self, result: RunResult) -> None:
        """Count one run."""
        self.runs += 1
        self.wall_s += result.wall_s
        self.virtual_s += result.virtual_s
        struck = {f.kind for f in result.fired}
        self.struck_runs.update(struck)
        self.strikes.update(f.kind for f in result.fired)
        self.planned.update(set(result.plan.kinds()))
        for name in result.applicable:
            self.exercised[name] |= struck
        for name in sorted({v.invariant for v in result.violations} | ({"harness"} if result.harness_error else set())):
            self.failing_seeds[name].append(result.seed)
        self.foreign[0] += result.foreign[0]
        self.foreign[1] += result.foreign[1]
        if result.failed:
            self.failed.append(result)

    def lines(self, elapsed_s: float) -> list[str]:
        """The printed summary."""
        rate = self.runs / elapsed_s if elapsed_s > 0 else 0.0
        out = [f"seeds run: {self.runs}, failed: {len(self.failed)}, passed: {self.runs - len(self.failed)} "
               f"({elapsed_s:.1f} s, {rate:.1f} seeds/s, {self.virtual_s / max(1, self.runs):.0f} virtual s per run)",
               "", "faults injected (runs struck / runs planned, strikes):"]
        for kind in CATALOGUE:
            out.append(f"  {kind:30} {self.struck_runs[kind]:5} / {self.planned[kind]:<5} {self.strikes[kind]:6}")
        out += ["", "failures by invariant (seeds):"]
        for name in [*INVARIANTS, "harness"]:
            seeds = self.failing_seeds.get(name, [])
            if seeds or name != "harness":
                shown = ", ".join(map(str, seeds[:20])) + (" …" if len(seeds) > 20 else "")
                out.append(f"  {name:26} {len(seeds):5}  {shown}")
        out += ["", "invariants exercised under fault kinds:"]
        for name in INVARIANTS:
            kinds = sorted(self.exercised.get(name, set()))
            out.append(f"  {name:26} {len(kinds):2} kinds: {', '.join(kinds)}")
        out += ["", f"foreign executions recorded in fills: {self.foreign[0]} of {self.foreign[1]} "
                    "(reported only, not yet an invariant)"]
        return out

    def to_json(self, elapsed_s: float, first: int) -> dict[str, Any]:
        """The summary as ``out/simulate/results.json``."""
        return {
            "seeds": {"first": first, "count": self.runs, "failed": len(self.failed)},
            "elapsed_s": round(elapsed_s, 3), "seeds_per_s": round(self.runs / elapsed_s, 2) if elapsed_s else None,
            "faults": {kind: {"runs_struck": self.struck_runs[kind], "runs_planned": self.planned[kind],
                              "strikes": self.strikes[kind], "what": what} for kind, what in CATALOGUE.items()},
            "failures_by_invariant": {name: self.failing_seeds.get(name, []) for name in [*INVARIANTS, "harness"]},
            "exercised_under": {name: sorted(self.exercised.get(name, set())) for name in INVARIANTS},
            "invariants": INVARIANTS,
            "foreign_executions": {"recorded": self.foreign[0], "total": self.foreign[1]},
            "failing": [failure_json(r) for r in self.failed],
        }


def failure_json(result: RunResult) -> dict[str, Any]:
    """One failing seed as a bug report."""
    by_invariant: dict[str, list[str]] = defaultdict(list)
    for v in result.violations:
        by_invariant[v.invariant].append(v.message)
    return {"seed": result.seed, "plan": result.plan.describe(), "plan_kinds": result.plan.kinds(),
            "struck": [f"{f.kind} at {f.t:.3f}s {f.detail}".strip() for f in result.fired],
            "violations": dict(by_invariant), "notes": result.notes, "harness_error": result.harness_error,
            "digest": result.digest, "reproduce": f"make simulate SEED={result.seed}"}


def failure_line(result: RunResult, verbose: bool) -> list[str]:
    """A failing seed on one line (and its messages when ``verbose``)."""
    counts = Counter(v.invariant for v in result.violations)
    names = [f"{n}×{c}" if c > 1 else n for n, c in sorted(counts.items())] + (["harness"] if result.harness_error
                                                                               else [])
    lines = [f"FAIL seed {result.seed} [{', '.join(names)}] plan: {result.plan.describe()}"]
    if verbose:
        lines += [f"    {v.invariant}: {v.message}" for v in result.violations]
        lines += [f"    note: {n}" for n in result.notes]
        if result.harness_error:
            lines += ["    harness: " + line for line in result.harness_error.splitlines()]
    return lines
