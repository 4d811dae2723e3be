"""Every fault in the catalogue can strike, and a fixed budget of seeds keeps every invariant.

``test_seed_budget_keeps_every_invariant`` runs ``python -m faultsim`` on seeds 0–49 the way ``make simulate``
does (its own process, ``PYTHONHASHSEED=0``). When it fails, its message lists each failing seed with the
invariants it broke and its fault plan: that is the bug report (``make simulate SEED=<n>`` replays one seed).
Failures here are the executor's, found on purpose: do not weaken an invariant to make them pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faultsim.faults import CATALOGUE
from faultsim.run import run_seed

BUDGET = range(0, 50)
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_every_fault_kind_in_the_catalogue_strikes(kind: str) -> None:
    for seed in range(20):
        result = run_seed(seed, kinds=[kind])
        assert not result.harness_error, result.harness_error
        if kind in {f.kind for f in result.fired}:
            return
    pytest.fail(f"{kind} never struck in seeds 0-19: its trigger point is never reached")


def test_seed_budget_keeps_every_invariant(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPREADPILOT_")} | {"PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-m", "faultsim", "--first", str(BUDGET.start), "--seeds", str(len(BUDGET)),
                           "--json", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert out.exists(), f"the simulator did not finish:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    results = json.loads(out.read_text())
    harness = [f for f in results["failing"] if f["harness_error"]]
    assert not harness, "the simulator itself failed:\n" + "\n".join(
        f"seed {f['seed']}: {f['harness_error']}" for f in harness)
    failing = results["failing"]
    report = [f"seed {f['seed']}: {', '.join(sorted(f['violations']))}\n    plan: {f['plan']}\n    "
              + "\n    ".join(m for ms in f["violations"].values() for m in ms[:2]) for f in failing]
    assert not failing, (f"{len(failing)} of {len(BUDGET)} seeds broke an invariant (replay one with "
                         f"`make simulate SEED=<n>`):\n" + "\n".join(report))
    assert done.returncode == 0
