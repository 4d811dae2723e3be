"""Broker-true money on simulated days: every follower's daily realized P&L equals the simulator's own ledger to
the cent, computed here from its journal alone (``journal_money``), and the day reconciles with the broker.

One run plays three bad days in sequence (``month-end-days``: an early assignment, an in-the-money expiry on the
month's last day, a pin-risk close), then closes both months: each day costs about two and a half minutes of CI, so
the days share one run rather than one run each."""

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
SPEED = "180"  # a whole day in about two and a half minutes, slow enough for the entries on a busy machine
MONTH_END = "local/scenarios/month-end-days.yaml"


@pytest.mark.timeout(1500)  # three simulated days
def test_three_bad_days_across_a_month_end_are_broker_true_to_the_cent_and_each_month_is_closed(tmp_path: Path) -> None:
    """``days:``: three days across a month end in one run (its own three followers: no ``--followers``).

    Each follower's realized P&L of each day equals the broker's to the cent and is reconciled, whether it came from
    an early assignment repaired by moneyness (30 March), a short put expiring in the money with its stock delivered
    at the strike (31 March) or the 15:55 pin-risk close (1 April); no follower has P&L the broker does not know of;
    then March and April are closed in order, each month's net is the sum of its days, April starts from March's
    high-water mark, and every invoice bills the month's commission."""
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--scenario", MONTH_END, "--speed", SPEED,
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
    assert broker, "nobody traded: the days prove nothing"
    for (account, day), value in broker.items():
        follower = next(f for f, a in summary["accounts"].items() if a == account)
        assert Decimal(str(days[(follower, day.isoformat())]["realized_pnl"])) == value, (follower, day)
    for (follower, day), row in days.items():  # and no follower has P&L the broker does not know of
        traded = (summary["accounts"][follower], date.fromisoformat(day)) in broker
        assert traded or Decimal(str(row["realized_pnl"])) == 0, (follower, day, row)
    # the three bad days each happened (a day whose entry came too late on a loaded machine proves less, not wrong)
    happened = {(line["event"], line["ts"][:10]) for line in lines}
    if ("order", "2026-03-30") in happened:
        assert ("assignment", "2026-03-30") in happened, "no early assignment on the assignment day"
    if ("order", "2026-03-31") in happened:
        assert any(line["event"] == "expiry" and line["shares"] for line in lines), "no stock delivered at expiry"
    if ("order", "2026-04-01") in happened:
        exits = [o for o in summary["orders"] if o["kind"] == "exit" and str(o["signal_id"]).startswith("20260401")]
        assert any(o["status"] == "filled" for o in exits), f"no pin-risk close filled on 1 April: {exits}"
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
