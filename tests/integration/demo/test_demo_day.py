"""`make demo` as a test: one fast simulated day with every built stage, checked against the broker's journal."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_a_simulated_day_runs_through_and_every_follower_gets_one_filled_order_at_the_broker(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--followers", "3", "--speed", "360", "--out", str(out),
         "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["ran_through"] is True
    assert summary["not_built"] == []
    assert len(summary["signals"]) == 1
    entries = [o for o in summary["orders"] if o["kind"] == "entry"]
    assert sorted(o["follower_id"] for o in entries) == ["f01", "f02", "f03"]
    assert all(o["status"] == "filled" and o["broker_orders"] == 1 for o in entries)
    assert summary["broker_check"]["duplicate_order_refs"] == {}
    # A quiet day: the spreads expire worthless, so nothing may wake an operator (e.g. expiry taken for assignment).
    assert [a for a in summary["alerts"] if a["severity"] == "CRITICAL"] == []
    assert len(summary["daily_pnl"]) == 3
    assert len(summary["statements"]) == 3
    assert all(s["emailed"] for s in summary["statements"])
    assert list(out.glob("ibsim-*.jsonl"))
