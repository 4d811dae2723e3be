"""Broker-true money on simulated days: every follower's daily realized P&L equals the simulator's own ledger to
the cent, computed here from its journal alone (``journal_money``), and the day reconciles with the broker."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from journal_money import read, realized_by_day

ROOT = Path(__file__).resolve().parents[3]
SPEED = "240"  # a whole day in about two minutes, slow enough for the ladder on a busy machine


def play(scenario: str, tmp_path: Path) -> tuple[dict[str, object], list[Path]]:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--scenario", f"local/scenarios/{scenario}.yaml", "--followers", "3",
         "--speed", SPEED, "--out", str(out), "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return json.loads((out / "summary.json").read_text(encoding="utf-8")), sorted(out.glob("ibsim-*.jsonl"))


@pytest.mark.timeout(900)  # a whole simulated day: about three minutes on a busy machine
@pytest.mark.parametrize(("scenario", "settles"), [
    ("assignment-day", "assignment"),  # f01 and f03 assigned early, repaired
    ("pin-risk-day", None),  # the 15:55 close: no settlement but the worthless expiries of what was not closed
    ("itm-expiry-day", "expiry"),  # the short put expires in the money: stock delivered at the strike
])
def test_each_followers_daily_realized_pnl_equals_the_simulators_ledger_to_the_cent(
    scenario: str, settles: str | None, tmp_path: Path
) -> None:
    summary, journals = play(scenario, tmp_path)
    lines = read(journals)
    broker = realized_by_day(lines)
    accounts: dict[str, str] = summary["accounts"]  # type: ignore[assignment]
    daily = {(d["follower_id"], date.fromisoformat(d["date"])): d for d in summary["daily_pnl"]}  # type: ignore[union-attr]

    traded = {(a, day) for (a, day), value in broker.items()}
    assert traded, "nobody traded: the day proves nothing"
    for account, day in traded:
        follower = next(f for f, a in accounts.items() if a == account)
        doc = daily[(follower, day)]
        assert Decimal(str(doc["realized_pnl"])) == broker[(account, day)], (follower, day, doc)
        assert doc["reconciliation"] == "reconciled", (follower, doc["reconciliation_note"])
    for (follower, day), doc in daily.items():  # and no follower has P&L the broker does not know of
        assert (accounts[follower], day) in traded or Decimal(str(doc["realized_pnl"])) == 0
    if settles == "assignment":
        assert any(line["event"] == "assignment" for line in lines)
    if settles == "expiry":
        assert any(line["event"] == "expiry" and line["shares"] for line in lines)
    if scenario == "pin-risk-day":
        assert any(o["kind"] == "exit" and o["status"] == "filled" for o in summary["orders"])  # type: ignore[union-attr]


@pytest.mark.timeout(1500)  # three simulated days
def test_a_scenario_over_several_days_plays_them_in_sequence_and_closes_each_month(tmp_path: Path) -> None:
    """``days:``: three days across a month end in one run (its own three followers: no ``--followers``), the
    daily rollups, then March and April closed in order, each followed by its statements."""
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--scenario", "local/scenarios/month-end-days.yaml", "--speed", SPEED,
         "--out", str(out), "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = read(sorted(out.glob("ibsim-*.jsonl")))
    broker = realized_by_day(lines)

    assert summary["dates"] == ["2026-03-30", "2026-03-31", "2026-04-01"]
    assert sorted(summary["accounts"]) == ["f01", "f02", "f03"]  # the scenario's own list
    # Orders on more than one day: the clock jumped the night and the processes traded on (on a loaded machine the
    # executor may start too late for the first day's entry window: that day then has no order, only its rollup).
    journal_days = {line["ts"][:10] for line in lines if line["event"] == "order"}
    assert len(journal_days) >= 2, journal_days
    assert [day["date"] for day in summary["days"]] == summary["dates"]  # each day rolled up
    days = {(row["follower_id"], day["date"]): row for day in summary["days"] for row in day["followers"]}
    assert {row["reconciliation"] for row in days.values()} == {"reconciled"}
    for (account, day), value in broker.items():
        follower = next(f for f, a in summary["accounts"].items() if a == account)
        assert Decimal(str(days[(follower, day.isoformat())]["realized_pnl"])) == value, (follower, day)
    months = {(row["follower_id"], m["month"]): row for m in summary["months"] for row in m["followers"]}
    assert sorted({month for _, month in months}) == ["2026-03", "2026-04"]
    for follower in ("f01", "f02", "f03"):
        march = [Decimal(str(r["realized_pnl"])) for (f, d), r in days.items() if f == follower and d < "2026-04"]
        assert Decimal(str(months[(follower, "2026-03")]["net_pnl"])) == sum(march, Decimal(0))
        april = months[(follower, "2026-04")]
        assert Decimal(str(april["hwm_before"])) == Decimal(str(months[(follower, "2026-03")]["hwm_after"]))
    for invoice in summary["invoices"]:
        assert Decimal(str(invoice["amount"])) == Decimal(str(months[(invoice["follower_id"],
                                                                      invoice["month"])]["commission"]))
