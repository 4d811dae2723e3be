"""GET /performance through the served API: trades (not days) per follower and overall, from daily_pnl."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from admin_harness import AdminClient
from google.cloud import firestore

from pnl.records import FirestoreRecords
from spreadpilot.models import DailyPnL
from spreadpilot.store import Store


def _day(db: firestore.Client, follower_id: str, day: str, pnl: str, trades: int) -> None:
    db.collection("daily_pnl").document(f"{follower_id}:{day}").set({
        "follower_id": follower_id, "date": day, "realized_pnl": pnl, "commissions": "0", "closing_mtm": "0",
        "best_mtm": "0", "worst_mtm": "0", "trades": trades, "computed_at": "2026-04-01T00:10:00+00:00"})


def test_performance_counts_trades_per_follower_and_overall_and_names_an_unreadable_day(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    for day, pnl, trades in (("2026-03-02", "100", 2), ("2026-03-03", "-40", 2), ("2026-03-04", "-30", 0),
                             ("2026-03-05", "-20", 2)):
        _day(firestore_db, "f01", day, pnl, trades)
    _day(firestore_db, "f02", "2026-03-02", "25", 2)
    firestore_db.collection("daily_pnl").document("f03:2026-03-02").set({"follower_id": "f03", "trades": "x"})

    everyone = admin.call("GET", "/performance")
    one = admin.call("GET", "/performance?follower_id=f01")

    assert everyone.status_code == 200, everyone.text
    f01 = everyone.json()["followers"]["f01"]
    assert (f01["trades"], f01["winning"], f01["losing"], f01["win_rate"]) == (3, 1, 2, "0.3333")
    assert (f01["profit_factor"], f01["max_drawdown"], f01["max_consecutive_losses"]) == ("1.6667", "90", 2)
    assert everyone.json()["overall"]["trades"] == 4
    assert everyone.json()["overall"]["profit_factor"] == "2.0833"  # 125 / 60
    assert everyone.json()["unreadable"] == ["f03:2026-03-02"]
    assert list(one.json()["followers"]) == ["f01"]


def test_a_day_as_the_pnl_rollup_stores_it_is_counted_not_called_unreadable(
    admin: AdminClient, firestore_db: firestore.Client
) -> None:
    # the rollup keeps the day's open lots beside the figures: the view read every real document as unreadable
    FirestoreRecords(Store(firestore_db)).put_daily(DailyPnL(
        follower_id="f01", date=date(2026, 3, 2), realized_pnl=Decimal(100), commissions=Decimal(0),
        closing_mtm=Decimal(0), best_mtm=Decimal(0), worst_mtm=Decimal(0), trades=2,
        computed_at=datetime(2026, 3, 2, 21, tzinfo=UTC)), ())

    answer = admin.call("GET", "/performance").json()
    assert answer["unreadable"] == []
    assert answer["followers"]["f01"]["trades"] == 1
