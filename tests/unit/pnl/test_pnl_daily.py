"""The daily rollup: realized P&L from the account ledger (executions, commissions, assignment, exercise, expiry),
open lots marked at the close, and MTM from snapshots."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pnl_fixtures import (
    MemoryRecords,
    RecordingPublisher,
    et,
    expiry_at_close,
    fill,
    reading,
    settle,
    snapshot,
    stock_line,
)

from pnl.daily import realize, run_daily
from spreadpilot.models import IntentState, OrderIntent, Reconciliation, Spread, StateChange, Strategy

DAY = date(2026, 3, 17)
SHORT, LONG, STOCK = 1, 2, 9


def open_bull_put(qty: int = 2, commission: str = "0", day: date = DAY, short: str = "1.20",
                  long_: str = "0.45") -> list:
    return [
        fill(et(day, 9, 31), "SLD", qty, short, con_id=SHORT, strike="485", commission=commission),
        fill(et(day, 9, 31), "BOT", qty, long_, con_id=LONG, strike="480", commission=commission),
    ]


def worthless(qty: int = 2, day: date = DAY, closing: str = "490.10") -> list:
    return expiry_at_close(day, closing, [(SHORT, "485", "short", qty), (LONG, "480", "long", qty)])


def test_spread_expiring_worthless_keeps_the_credit_less_commissions() -> None:
    realized = realize(open_bull_put(qty=2, commission="1.05"), DAY, settlements=worthless(qty=2))

    assert realized.gross == Decimal("150.00")  # (1.20 - 0.45) x 2 x 100
    assert realized.commissions == Decimal("2.10")
    assert realized.net == Decimal("147.90")
    assert realized.open_lots == ()


def test_spread_closed_early_realizes_entry_credit_minus_exit_debit() -> None:
    fills = [*open_bull_put(qty=2),
             fill(et(DAY, 14, 0), "BOT", 2, "0.30", con_id=SHORT, strike="485"),
             fill(et(DAY, 14, 0), "SLD", 2, "0.05", con_id=LONG, strike="480")]

    assert realize(fills, DAY).net == Decimal("100.00")  # (1.20 - 0.30 + 0.05 - 0.45) x 2 x 100


def test_in_the_money_expiry_of_both_legs_books_the_broker_loss_not_the_credit() -> None:
    """Defect: assignment and expiry never reached the P&L (booked +73.70, the broker −426.30).

    Bull put 485/480 x1 at a 0.75 credit (1.20 − 0.45), $0.65 a leg; QQQ closes at 478: the short put is assigned
    (+100 shares at 485), the long put exercised (−100 at 480): 120 − 45 − 500 − 1.30 = −426.30.
    """
    settlements = expiry_at_close(DAY, "478", [(SHORT, "485", "short", 1), (LONG, "480", "long", 1)])

    realized = realize(open_bull_put(qty=1, commission="0.65"), DAY, settlements=settlements)

    assert realized.net == Decimal("-426.30")
    assert realized.open_lots == ()


def test_early_assignment_repaired_by_exercise_books_the_broker_loss() -> None:
    """Defect (same day, assigned at 13:05 and repaired by exercising the long put): −426.30, not +73.70."""
    settlements = [settle(et(DAY, 13, 5), "assignment", "short", 1, con_id=SHORT, strike="485"),
                   settle(et(DAY, 13, 6), "exercise", "long", 1, con_id=LONG, strike="480")]

    assert realize(open_bull_put(qty=1, commission="0.65"), DAY, settlements=settlements).net == Decimal("-426.30")


def test_assignment_flattened_in_the_market_counts_the_stock_loss_and_the_expired_long_leg() -> None:
    fills = [*open_bull_put(qty=1),
             fill(et(DAY, 13, 7), "SLD", 100, "483.10", con_id=STOCK, sec_type="STK", commission="1.00")]
    settlements = [settle(et(DAY, 13, 5), "assignment", "short", 1, con_id=SHORT, strike="485"),
                   *expiry_at_close(DAY, "490.10", [(LONG, "480", "long", 1)])]

    # short leg +120 (assigned: it leaves at no price), stock (483.10 - 485) x 100 = -190, long put expired -45, fee 1
    assert realize(fills, DAY, settlements=settlements).net == Decimal("-116.00")


def test_short_leg_expiring_in_the_money_delivers_stock_that_a_later_sale_closes_without_a_phantom_short_lot(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    """Defect: an in-the-money short leg was settled at 0 with no stock, so selling the assigned shares opened a
    phantom short stock lot that a later buy closed.

    Tue: 485/480 x1 for 1.20/0.45, $0.65 a leg; QQQ closes at 483: short assigned (+100 at 485), long worthless:
         120 − 45 − 1.30 = 73.70, 100 shares carried (marked at 483: −200 unrealized).
    Wed: the executor sells the 100 shares at 482.40 ($1.00): (482.40 − 485) x 100 − 1 = −261.00; nothing open.
    Thu: a new spread 485/480 x1 for 1.00/0.40 expires worthless: 60 − 1.30 = 58.70.
    Fri: a hand trade buys 100 shares at 481 ($1.00): a new long lot, nothing realized: −1.00.
    Four days: 73.70 − 261.00 + 58.70 − 1.00 = −129.60.
    """
    tue, wed, thu, fri = (date(2026, 3, d) for d in (17, 18, 19, 20))
    records.fills = [
        *open_bull_put(qty=1, commission="0.65", day=tue),
        fill(et(wed, 9, 35), "SLD", 100, "482.40", con_id=STOCK, sec_type="STK", commission="1.00"),
        *open_bull_put(qty=1, commission="0.65", day=thu, short="1.00", long_="0.40"),
        fill(et(fri, 11, 0), "BOT", 100, "481", con_id=STOCK, sec_type="STK", commission="1.00", intent=""),
    ]
    records.settlements = [
        *expiry_at_close(tue, "483", [(SHORT, "485", "short", 1), (LONG, "480", "long", 1)]),
        *worthless(qty=1, day=thu),
    ]
    records.add_reading(reading(tue, "close", positions=(stock_line(100, "483"),)))

    for day in (tue, wed, thu, fri):
        run_daily(records, publisher, day, et(day, 16, 30))

    realized = [records.daily_docs[f"f01:{d}"].realized_pnl for d in (tue, wed, thu, fri)]
    assert realized == [Decimal("73.70"), Decimal("-261.00"), Decimal("58.70"), Decimal("-1.00")]
    assert sum(realized) == Decimal("-129.60")
    assert records.daily_docs[f"f01:{tue}"].unrealized_pnl == Decimal("-200.00")
    assert [(lot.key, lot.qty, lot.price) for lot in records.lots[("f01", tue)]] == [("STK:QQQ", 100, Decimal(485))]
    assert records.lots[("f01", wed)] == ()
    assert [(lot.key, lot.qty) for lot in records.lots[("f01", fri)]] == [("STK:QQQ", 100)]


def test_an_option_still_open_after_its_expiry_without_a_settlement_is_unreconciled_not_settled_at_zero(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    """Defect: every option still open on its expiry day was settled at 0 (an in-the-money one too)."""
    records.fills = open_bull_put(qty=1)

    run = run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.realized_pnl == Decimal(0)  # nothing realized: the lots are still open
    assert doc.reconciliation is Reconciliation.UNRECONCILED
    assert "expired without a settlement event" in doc.reconciliation_note
    assert run.unreconciled == ("f01",)
    assert [m.alert.type for t, m in publisher.sent if t == "alerts"] == ["pnl.unreconciled"]  # type: ignore[union-attr]


def test_an_execution_correction_replaces_the_execution_it_corrects() -> None:
    """Defect: an IB execution correction (same execId up to the last dot) was counted as a second fill."""
    fills = [
        fill(et(DAY, 9, 31), "SLD", 1, "1.20", con_id=SHORT, exec_id="0000e0d5.65f1a2b3.01.01"),
        fill(et(DAY, 9, 31), "SLD", 1, "1.25", con_id=SHORT, exec_id="0000e0d5.65f1a2b3.01.02"),  # the correction
        fill(et(DAY, 9, 31), "BOT", 1, "0.45", con_id=LONG, strike="480", exec_id="0000e0d5.65f1a2b4.01.01"),
    ]

    realized = realize(fills, DAY, settlements=worthless(qty=1))

    assert realized.net == Decimal("80.00")  # (1.25 - 0.45) x 100: one short put, at the corrected price


def test_a_flat_round_trip_is_exactly_zero_and_not_a_losing_day(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    """Defect: average cost carried division residue: this round trip came out −1E-25, a losing day."""
    later = date(2026, 3, 20)  # options of a later expiry: nothing expires today
    records.fills = [fill(et(DAY, 10, 0), "BOT", 1, "1.00", expiry=later),
                     fill(et(DAY, 10, 1), "BOT", 2, "1.01", expiry=later),
                     fill(et(DAY, 11, 0), "SLD", 1, "1.00", expiry=later),
                     fill(et(DAY, 11, 1), "SLD", 2, "1.01", expiry=later)]

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.realized_pnl == 0
    assert str(doc.realized_pnl) == "0.00"
    assert records.lots[("f01", DAY)] == ()


def test_partial_closes_are_first_in_first_out() -> None:
    later = date(2026, 3, 20)
    fills = [fill(et(DAY, 9, 31), "SLD", 1, "1.00", con_id=SHORT, expiry=later),
             fill(et(DAY, 9, 32), "SLD", 1, "1.40", con_id=SHORT, expiry=later),
             fill(et(DAY, 15, 0), "BOT", 1, "0.20", con_id=SHORT, expiry=later)]

    realized = realize(fills, DAY)

    assert realized.gross == Decimal("80.00")  # the 1.00 lot closed at 0.20
    assert [(lot.qty, lot.price) for lot in realized.open_lots] == [(-1, Decimal("1.40"))]


def test_stock_still_held_at_the_close_is_not_realized_but_carried_and_marked(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.settlements = [settle(et(DAY, 13, 5), "assignment", "short", 1, con_id=SHORT, strike="485")]
    records.fills = [fill(et(DAY, 9, 31), "SLD", 1, "1.20", con_id=SHORT)]
    records.add_reading(reading(DAY, "close", realized="120", positions=(stock_line(100, "483.50"),)))

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.realized_pnl == Decimal("120.00")
    assert doc.unrealized_pnl == Decimal("-150.00")  # (483.50 - 485) x 100
    assert doc.reconciliation is Reconciliation.RECONCILED
    assert [(lot.key, lot.qty, lot.price, lot.mark) for lot in records.lots[("f01", DAY)]] == [
        ("STK:QQQ", 100, Decimal(485), Decimal("483.50"))]


def test_a_day_whose_realized_differs_from_the_broker_is_unreconciled_and_alerted(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=1, commission="0.65")
    records.settlements = worthless(qty=1)
    records.add_reading(reading(DAY, "close", realized="56.70"))

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert (doc.realized_pnl, doc.broker_realized_pnl) == (Decimal("73.70"), Decimal("56.70"))
    assert doc.reconciliation is Reconciliation.UNRECONCILED
    assert "realized: ledger 73.70, broker 56.70" in doc.reconciliation_note
    alerts = [m.alert for t, m in publisher.sent if t == "alerts"]  # type: ignore[union-attr]
    assert [(a.type, a.severity) for a in alerts] == [("pnl.unreconciled", "CRITICAL")]


def test_opening_positions_that_differ_from_the_carried_lots_make_the_day_unreconciled(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=1)
    records.settlements = worthless(qty=1)
    records.add_reading(reading(DAY, "open", positions=(stock_line(100),)))  # the broker delivered stock overnight

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.reconciliation is Reconciliation.UNRECONCILED
    assert "positions at the open: STK:QQQ ledger 0, broker 100" in doc.reconciliation_note


def test_daily_document_has_realized_trades_and_closing_best_worst_mtm(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=2, commission="1")
    records.settlements = worthless(qty=2)
    records.snapshots = [snapshot(et(DAY, 10, 0), "35"), snapshot(et(DAY, 12, 0), "-80.5"),
                         snapshot(et(DAY, 15, 0), "120"), snapshot(et(DAY, 16, 0), "98")]

    run = run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert run.written == ("f01",)
    assert (doc.realized_pnl, doc.commissions, doc.trades, doc.settlements) == (Decimal("148"), Decimal("2"), 1, 2)
    assert (doc.closing_mtm, doc.best_mtm, doc.worst_mtm) == (Decimal("98"), Decimal("120"), Decimal("-80.50"))


def test_rerunning_a_day_writes_nothing_new_and_keeps_the_same_document(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put()
    records.settlements = worthless()
    run_daily(records, publisher, DAY, et(DAY, 16, 30))
    first = records.daily_docs[f"f01:{DAY}"]

    rerun = run_daily(records, publisher, DAY, et(DAY, 18, 0))

    assert rerun.unchanged == ("f01",)
    assert records.daily_writes == 1
    assert records.daily_docs[f"f01:{DAY}"] == first


def test_a_late_fill_corrects_the_day_on_rerun(records: MemoryRecords, publisher: RecordingPublisher) -> None:
    records.fills = open_bull_put(qty=1)
    records.settlements = worthless(qty=1)
    run_daily(records, publisher, DAY, et(DAY, 16, 30))
    records.fills.append(fill(et(DAY, 15, 59), "BOT", 1, "0.70", con_id=SHORT))
    records.settlements = expiry_at_close(DAY, "490.10", [(LONG, "480", "long", 1)])

    run_daily(records, publisher, DAY, et(DAY, 17, 0))

    assert records.daily_docs[f"f01:{DAY}"].realized_pnl == Decimal("5.00")  # 50 - 45 (long leg expired)


def test_days_are_new_york_days_and_each_follower_gets_their_own_document(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    later = date(2026, 3, 20)
    records.fills = [
        fill(et(date(2026, 3, 16), 23, 30), "SLD", 1, "9.99", con_id=SHORT, expiry=later),  # the evening before
        fill(et(DAY, 9, 40), "SLD", 1, "1.00", con_id=SHORT, follower="f02", intent="entry-x-f02", expiry=later),
        fill(et(DAY, 23, 59), "SLD", 1, "0.50", con_id=SHORT, expiry=later),
        fill(et(DAY, 23, 59), "BOT", 1, "0.10", con_id=SHORT, expiry=later),
    ]

    run_daily(records, publisher, DAY, et(DAY, 23, 59, 59))

    assert records.daily_docs[f"f01:{DAY}"].realized_pnl == Decimal("40.00")
    assert records.daily_docs[f"f02:{DAY}"].realized_pnl == Decimal(0)
    assert [(lot.qty, lot.price) for lot in records.lots[("f02", DAY)]] == [(-1, Decimal("1.00"))]


def test_a_day_without_snapshots_closes_at_its_realized_pnl(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    records.fills = open_bull_put(qty=1)
    records.settlements = worthless(qty=1)

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    doc = records.daily_docs[f"f01:{DAY}"]
    assert doc.closing_mtm == doc.best_mtm == doc.worst_mtm == doc.realized_pnl == Decimal("75.00")


def test_a_combo_level_execution_report_is_not_counted_twice() -> None:
    bag = fill(et(DAY, 9, 31), "BOT", 2, "-0.75", con_id=28812380, sec_type="BAG", strike=None)

    assert realize([*open_bull_put(qty=2), bag], DAY).gross == realize(open_bull_put(qty=2), DAY).gross


def test_each_followers_day_carries_its_entry_fill_against_the_days_best_and_its_time_to_fill(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    """The statement's fill line: from every follower's entry of the day's signal, not from the follower's alone."""

    def entry(fid: str, credit: str, filled_after_s: int) -> OrderIntent:
        at = et(DAY, 9, 31)
        filled = et(DAY, 9, 31, filled_after_s)
        return OrderIntent(intent_id=f"entry-x-{fid}", signal_id="x", follower_id=fid, gateway_id="gw", account="DU1",
                           spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485),
                                         long_strike=Decimal(480)), expiry=DAY, contracts=1, filled_qty=1,
                           avg_price=Decimal(credit), state=IntentState.FILLED,
                           history=(StateChange(state=IntentState.FILLED, at=filled),), created_at=at, updated_at=at)

    records.orders = [entry("f01", "0.75", 4), entry("f02", "0.78", 2)]
    records.fills = open_bull_put(qty=1) + [f.model_copy(update={"follower_id": "f02", "exec_id": f"{f.exec_id}-2"})
                                            for f in open_bull_put(qty=1)]
    records.settlements = worthless(qty=1) + [e.model_copy(update={"follower_id": "f02", "event_id": f"{e.event_id}2"})
                                              for e in worthless(qty=1)]

    run_daily(records, publisher, DAY, et(DAY, 16, 30))

    f01, f02 = records.daily_docs[f"f01:{DAY}"], records.daily_docs[f"f02:{DAY}"]
    assert (f01.fill_vs_best, f01.fill_seconds) == (Decimal("-0.03"), Decimal("4.0"))
    assert (f02.fill_vs_best, f02.fill_seconds) == (Decimal("0.00"), Decimal("2.0"))
