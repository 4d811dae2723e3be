"""The daily rollup: realized P&L from fills (commissions, expiry, exercise, assignment) and MTM from snapshots."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pnl_fixtures import MemoryRecords, RecordingPublisher, et, fill, snapshot

from pnl.daily import realize, run_daily

DAY = date(2026, 3, 17)
SHORT, LONG, STOCK = 1, 2, 9


def open_bull_put(qty: int = 2, commission: str = "0") -> list:
    return [
        fill(et(DAY, 9, 31), "SLD", qty, "1.20", con_id=SHORT, strike="485", commission=commission),
        fill(et(DAY, 9, 31), "BOT", qty, "0.45", con_id=LONG, strike="480", commission=commission),
    ]


def test_spread_expiring_worthless_keeps_the_credit_less_commissions() -> None:
    realized = realize(open_bull_put(qty=2, commission="1.05"), DAY)

    assert realized.gross == Decimal("150.00")  # (1.20 - 0.45) x 2 x 100
    assert realized.commissions == Decimal("2.10")
    assert realized.net == Decimal("147.90")
    assert realized.open_lots == ()


def test_spread_closed_early_realizes_entry_credit_minus_exit_debit() -> None:
    fills = [*open_bull_put(qty=2),
             fill(et(DAY, 14, 0), "BOT", 2, "0.30", con_id=SHORT, strike="485"),
             fill(et(DAY, 14, 0), "SLD", 2, "0.05", con_id=LONG, strike="480")]

    assert realize(fills, DAY).net == Decimal("100.00")  # (1.20 - 0.30 + 0.05 - 0.45) x 2 x 100


def test_assignment_compensated_by_exercising_the_long_leg_loses_width_minus_credit() -> None:
    fills = [*open_bull_put(qty=1),
             fill(et(DAY, 13, 5), "BOT", 1, "0", con_id=SHORT, strike="485"),  # assigned: the short put is gone
             fill(et(DAY, 13, 5), "BOT", 100, "485", con_id=STOCK, sec_type="STK"),  # ... and we bought at 485
             fill(et(DAY, 13, 6), "SLD", 1, "0", con_id=LONG, strike="480"),  # exercised the long put
             fill(et(DAY, 13, 6), "SLD", 100, "480", con_id=STOCK, sec_type="STK")]  # ... selling at 480

    assert realize(fills, DAY).net == Decimal("-425.00")  # -(5 - 0.75) x 100


def test_assignment_flattened_in_the_market_counts_the_stock_loss_and_the_expired_long_leg() -> None:
    fills = [*open_bull_put(qty=1),
             fill(et(DAY, 13, 5), "BOT", 1, "0", con_id=SHORT, strike="485"),
             fill(et(DAY, 13, 5), "BOT", 100, "485", con_id=STOCK, sec_type="STK"),
             fill(et(DAY, 13, 7), "SLD", 100, "483.10", con_id=STOCK, sec_type="STK")]

    # short leg +120, stock -190, long put expired worthless -45
    assert realize(fills, DAY).net == Decimal("-115.00")


def test_partial_closes_use_average_cost() -> None:
    fills = [fill(et(DAY, 9, 31), "SLD", 1, "1.00", con_id=SHORT),
             fill(et(DAY, 9, 32), "SLD", 1, "1.40", con_id=SHORT),
             fill(et(DAY, 15, 0), "BOT", 2, "0.20", con_id=SHORT)]

    assert realize(fills, DAY).gross == Decimal("200.00")  # average 1.20, closed at 0.20, 2 x 100


def test_stock_still_held_at_the_close_is_not_realized_but_carried() -> None:
    fills = [fill(et(DAY, 13, 5), "BOT", 100, "485", con_id=STOCK, sec_type="STK")]

    realized = realize(fills, DAY)

    assert realized.gross == Decimal(0)
    assert [(lot.con_id, lot.qty, lot.avg) for lot in realized.open_lots] == [(STOCK, 100, Decimal("485"))]


def test_assigned_stock_sold_the_next_trading_day_realizes_against_its_carried_cost(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    friday, monday = date(2026, 3, 20), date(2026, 3, 23)
    records.fills = [
        fill(et(friday, 9, 31), "SLD", 1, "1.20", con_id=SHORT, expiry=friday),
        fill(et(friday, 9, 31), "BOT", 1, "0.45", con_id=LONG, strike="480", expiry=friday),
        fill(et(friday, 15, 59), "BOT", 1, "0", con_id=SHORT, expiry=friday),  # assigned late in the day
        fill(et(friday, 15, 59), "BOT", 100, "485", con_id=STOCK, sec_type="STK"),
        fill(et(monday, 9, 35), "SLD", 100, "482.50", con_id=STOCK, sec_type="STK"),  # flattened on Monday
    ]

    run_daily(records, publisher, friday, et(friday, 16, 30))
    run_daily(records, publisher, monday, et(monday, 16, 30))

    assert records.daily_docs[f"f01:{friday}"].realized_pnl == Decimal("75.00")  # +120 short, -45 long expired
    assert records.daily_docs[f"f01:{monday}"].realized_pnl == Decimal("-250.00")  # (482.50 - 485) x 100
    assert records.lots[("f01", monday)] == ()


def test_daily_document_has_realized_trades_and_closing_best_worst_mtm(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=2, commission="1")
    records.snapshots = [snapshot(et(DAY, 10, 0), "35"), snapshot(et(DAY, 12, 0), "-80.5"),
                         snapshot(et(DAY, 15, 0), "120"), snapshot(et(DAY, 16, 0), "98")]

    run = run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert run.written == ("f01",)
    assert (doc.realized_pnl, doc.commissions, doc.trades) == (Decimal("148"), Decimal("2"), 1)
    assert (doc.closing_mtm, doc.best_mtm, doc.worst_mtm) == (Decimal("98"), Decimal("120"), Decimal("-80.5"))


def test_rerunning_a_day_writes_nothing_new_and_keeps_the_same_document(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put()
    run_daily(records, publisher, DAY, et(DAY, 16, 30))
    first = records.daily_docs[f"f01:{DAY}"]

    rerun = run_daily(records, publisher, DAY, et(DAY, 18, 0))

    assert rerun.unchanged == ("f01",)
    assert records.daily_writes == 1
    assert records.daily_docs[f"f01:{DAY}"] == first


def test_a_late_fill_corrects_the_day_on_rerun(records: MemoryRecords, publisher: RecordingPublisher) -> None:
    records.fills = open_bull_put(qty=1)
    run_daily(records, publisher, DAY, et(DAY, 16, 30))
    records.fills.append(fill(et(DAY, 15, 59), "BOT", 1, "0.70", con_id=SHORT))

    run_daily(records, publisher, DAY, et(DAY, 17, 0))

    assert records.daily_docs[f"f01:{DAY}"].realized_pnl == Decimal("5.00")  # 50 - 45 (long leg expired)


def test_days_are_new_york_days_and_each_follower_gets_their_own_document(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = [
        fill(et(date(2026, 3, 16), 23, 30), "SLD", 1, "9.99", con_id=SHORT, expiry=DAY),  # the evening before
        fill(et(DAY, 9, 40), "SLD", 1, "1.00", con_id=SHORT, follower="f02", intent="entry-x-f02"),
        fill(et(DAY, 23, 59), "SLD", 1, "0.50", con_id=SHORT),
    ]

    run_daily(records, publisher, DAY, et(DAY, 23, 59, 59))

    assert records.daily_docs[f"f01:{DAY}"].realized_pnl == Decimal("50.00")
    assert records.daily_docs[f"f02:{DAY}"].realized_pnl == Decimal("100.00")


def test_a_day_without_snapshots_closes_at_its_realized_pnl(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=1)

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.closing_mtm == doc.best_mtm == doc.worst_mtm == doc.realized_pnl == Decimal("75.00")


def test_a_combo_level_execution_report_is_not_counted_twice() -> None:
    bag = fill(et(DAY, 9, 31), "BOT", 2, "-0.75", con_id=28812380, sec_type="BAG", strike=None)

    assert realize([*open_bull_put(qty=2), bag], DAY).gross == realize(open_bull_put(qty=2), DAY).gross
