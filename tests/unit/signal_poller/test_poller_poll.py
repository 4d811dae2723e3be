"""The poll loop of one tick, and what a day of ticks does: one signal, one alert per problem, nothing on holidays."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from poller_fakes import DAY, HEADER, World, et, long_row, short_row

from signal_poller.sheet_reader import SheetQuotaExceeded, SheetUnavailable, SheetUnreadable
from spreadpilot.errors import Retryable
from spreadpilot.models import Severity, Signal, Spread, Strategy, make_signal_id
from spreadpilot.sheet_header import Cell
from spreadpilot.signal_days import MANUAL, DayClaim

ROWS = [HEADER, long_row()]


def test_row_written_during_a_tick_is_published_within_one_poll_interval() -> None:
    world = World.at(et("09:27"))
    world.sheet.at(et("09:27:09"), ROWS)
    result = world.tick()
    assert result.status == "published"
    [signal] = world.publisher.signals()
    assert et("09:27:09") <= signal.detected_at <= et("09:27:09") + timedelta(seconds=2)
    assert result.signal_id == signal.signal_id


def test_published_signal_leaves_its_claim_message_id_and_timeline() -> None:
    world = World.at(et("09:28"), ROWS)
    result = world.tick()
    claim = world.ledger.day_claim(et("09:28").date())
    assert claim is not None
    assert claim.message_id == result.message_id
    assert claim.row == {"Data": "2026-03-17", "Ticker": "QQQ", "Strategia": "Long", "Quantità per Leg": 2,
                         "Buy Put": 480, "Sell Put": 485, "Sell Call": None, "Buy Call": None}
    doc = world.ledger.signals[claim.signal.signal_id]
    assert [event for event, _ in doc["timeline"]] == ["detected", "claimed", "published"]
    assert doc["status"] == "published"
    assert world.ledger.poll_days[claim.signal.date]["status"] == "published"


def test_repeated_ticks_publish_the_days_signal_only_once() -> None:
    world = World.at(et("09:28"), ROWS)
    for minute in range(28, 60):
        world.tick(et(f"09:{minute}"))
    assert len(world.publisher.signals()) == 1
    assert world.publisher.alerts() == []


def test_edited_row_after_publish_raises_one_critical_alert_and_no_second_signal() -> None:
    world = World.at(et("09:28"), ROWS)
    world.tick()
    world.sheet.rows = [HEADER, long_row(sell_put=486)]
    world.tick(et("09:29"))
    world.tick(et("09:30"))
    assert len(world.publisher.signals()) == 1
    [alert] = world.publisher.alerts()
    assert (alert.type, alert.severity) == ("signal.row_edited", Severity.CRITICAL)
    assert "Sell Put=486" in alert.message
    assert alert.signal_id == world.publisher.signals()[0].signal_id


def test_each_distinct_edit_alerts_once() -> None:
    world = World.at(et("09:28"), ROWS)
    world.tick()
    world.sheet.rows = [HEADER, long_row(sell_put=486)]
    world.tick(et("09:29"))
    world.sheet.rows = [HEADER, long_row(sell_put=487)]
    world.tick(et("09:30"))
    world.tick(et("09:31"))
    assert world.publisher.alert_types() == ["signal.row_edited", "signal.row_edited"]


def test_reformatting_the_published_row_is_not_an_edit() -> None:
    world = World.at(et("09:28"), ROWS)
    world.tick()
    world.sheet.rows = [HEADER, ["17/03/2026", " qqq ", "LONG", "2", "480.0", 485]]
    world.tick(et("09:29"))
    assert world.publisher.alerts() == []


def test_a_second_different_row_for_today_is_never_a_second_signal() -> None:
    world = World.at(et("09:28"), [HEADER, long_row(), short_row()])
    world.tick()
    world.tick(et("09:29"))
    [signal] = world.publisher.signals()
    assert signal.source_row == 2
    assert world.publisher.alert_types() == ["signal.row_edited"]


def test_failed_publish_raises_for_a_retry_and_the_retry_publishes_the_claimed_signal() -> None:
    world = World.at(et("09:28"), ROWS)
    world.publisher.fail_next = 1
    with pytest.raises(Retryable):
        world.tick()
    claimed = world.ledger.day_claim(et("09:28").date())
    assert claimed is not None
    assert claimed.message_id is None
    world.sheet.rows = [HEADER, long_row(qty=9)]  # edited before the retry: the claim wins, the edit alerts
    world.tick(et("09:29"))
    [signal] = world.publisher.signals()
    assert signal.signal_id == claimed.signal.signal_id
    assert world.publisher.alert_types() == ["signal.row_edited"]


def test_no_polling_on_weekends_and_holidays() -> None:
    for day in ("2026-03-14", "2026-04-03"):  # a Saturday; Good Friday
        world = World.at(et("09:40", day=date.fromisoformat(day)), ROWS)
        assert world.tick().status == "market_closed"
        assert world.sheet.reads == []


def test_no_polling_before_the_start_time() -> None:
    world = World.at(et("09:26:59"), ROWS)
    assert world.tick().status == "too_early"
    assert world.sheet.reads == []


def test_one_tick_polls_every_two_seconds_within_its_budget() -> None:
    world = World.at(et("09:27"))
    result = world.tick()
    assert result.status == "waiting"
    assert set(world.clock.slept) == {2.0}
    assert world.clock.now() - et("09:27") < timedelta(seconds=55)
    assert result.polls == len(world.sheet.reads) == 28


def test_half_filled_row_waits_until_it_is_complete() -> None:
    world = World.at(et("09:27"), [HEADER, ["2026-03-17", "QQQ", "Long", 2, 480]])
    world.sheet.at(et("09:27:30"), ROWS)
    assert world.tick().status == "published"
    assert world.publisher.signals()[0].detected_at >= et("09:27:30")
    assert world.ledger.rejections == {}


def test_rejected_row_alerts_once_across_polls_and_ticks_and_is_stored_with_its_reason() -> None:
    world = World.at(et("09:28"), [HEADER, long_row(sell_put=470)])
    for minute in (28, 29, 30):
        assert world.tick(et(f"09:{minute}")).status == "rejected"
    assert world.publisher.alert_types() == ["signal.row_rejected"]
    [rejection] = world.ledger.rejections.values()
    assert (rejection.row_number, rejection.column, rejection.value) == (2, "Sell Put", "470")
    assert rejection.reason.startswith('row 2, column "Sell Put", value "470"')
    assert world.publisher.signals() == []
    assert world.ledger.poll_days[rejection.date]["status"] == "rejected"


def test_a_rejected_row_corrected_by_the_strategist_trades_as_corrected() -> None:
    world = World.at(et("09:28"), [HEADER, long_row(sell_put=470)])
    world.tick()
    world.sheet.rows = ROWS
    world.tick(et("09:29"))
    [signal] = world.publisher.signals()
    assert signal.spread.short_strike == 485


def test_no_valid_row_by_0935_warns_once() -> None:
    world = World.at(et("09:34"))
    world.tick()
    world.tick(et("09:35"))
    world.tick(et("09:36"))
    [alert] = world.publisher.alerts()
    assert (alert.type, alert.severity) == ("signal.none_yet", Severity.WARNING)


def test_cutoff_without_a_row_alerts_no_trade_today_once() -> None:
    world = World.at(et("10:30"))
    assert world.tick().status == "no_trade"
    world.tick(et("10:31"))
    assert world.publisher.alert_types() == ["signal.no_trade"]
    assert world.ledger.poll_days[et("10:30").date()]["status"] == "no_trade"


def test_half_filled_row_at_the_cutoff_is_rejected_and_the_day_has_no_trade() -> None:
    world = World.at(et("10:30"), [HEADER, ["2026-03-17", "QQQ", "Long", 2, 480]])
    world.tick()
    assert world.publisher.alert_types() == ["signal.row_rejected", "signal.no_trade"]
    [rejection] = world.ledger.rejections.values()
    assert rejection.column == "Sell Put"
    assert "cutoff" in rejection.reason


def test_valid_row_after_the_cutoff_is_not_traded() -> None:
    world = World.at(et("10:29:50"))
    world.sheet.at(et("10:30:01"), ROWS)
    world.tick()
    world.tick(et("10:31"))
    assert world.publisher.signals() == []


def test_quota_errors_back_off_doubling_and_alert_once_when_they_persist() -> None:
    world = World.at(et("09:28"))
    world.sheet.errors = [SheetQuotaExceeded("429")] * 3
    world.sheet.at(et("09:28"), ROWS)
    assert world.tick().status == "published"
    assert world.clock.slept == [5.0, 10.0, 20.0]
    assert world.publisher.alert_types() == ["signal.sheet_quota"]


def test_transient_sheet_errors_are_retried_at_the_next_poll() -> None:
    world = World.at(et("09:28"), ROWS)
    world.sheet.errors = [SheetUnavailable("503")]
    assert world.tick().status == "published"
    assert world.publisher.alerts() == []


def test_unreadable_sheet_alerts_critical_once_and_the_tick_returns() -> None:
    world = World.at(et("09:28"))
    world.sheet.errors = [SheetUnreadable("404 not found"), SheetUnreadable("404 not found")]
    assert world.tick().status == "sheet_unreadable"
    world.tick(et("09:29"))
    [alert] = world.publisher.alerts()
    assert (alert.type, alert.severity) == ("signal.sheet_unreadable", Severity.CRITICAL)


def test_missing_header_warns_once_and_keeps_polling() -> None:
    world = World.at(et("09:28"), [["Data", "Ticker"], ["2026-03-17", "QQQ"]])
    world.sheet.at(et("09:28:20"), ROWS)
    assert world.tick().status == "published"
    [alert] = world.publisher.alerts()
    assert alert.type == "signal.header_missing"
    assert "Strategia" in alert.message


def test_quota_backoff_never_sleeps_past_the_tick_budget() -> None:
    world = World.at(et("09:28"))
    world.sheet.errors = [SheetQuotaExceeded("429")] * 10
    assert world.tick().status == "waiting"
    assert world.clock.slept == [5.0, 10.0, 20.0]  # the next 30 s wait would end after the 55 s budget


def test_quota_backoff_is_capped() -> None:
    world = World.at(et("09:28"), quota_backoff_max_s=8)
    world.sheet.errors = [SheetQuotaExceeded("429")] * 10
    world.tick()
    assert world.clock.slept[:4] == [5.0, 8.0, 8.0, 8.0]


def test_a_claim_another_invocation_is_still_publishing_is_left_alone_until_it_is_stale() -> None:
    world = World.at(et("09:28"), ROWS)
    world.publisher.fail_next = 1
    with pytest.raises(Retryable):
        world.tick()
    day = et("09:28").date()
    claim = world.ledger.days[day]
    world.ledger.days[day] = claim.model_copy(update={"publish_failed": False})  # as if the publisher crashed
    world.tick(et("09:29"))
    assert world.publisher.signals() == []
    world.tick(et("09:30:01"))
    assert len(world.publisher.signals()) == 1


def test_a_failed_alert_publish_is_retried_by_a_later_poll() -> None:
    world = World.at(et("09:28"), [HEADER, long_row(sell_put=470)])
    world.publisher.fail_next = 1
    with pytest.raises(Retryable):
        world.tick()
    world.tick(et("09:29"))
    assert world.publisher.alert_types() == ["signal.row_rejected"]


def test_a_row_completed_after_the_cutoff_is_named_in_the_no_trade_alert() -> None:
    world = World.at(et("10:30:05"), ROWS)
    world.tick()
    [alert] = world.publisher.alerts()
    assert alert.type == "signal.no_trade"
    assert "row 2 was complete only after the cutoff" in alert.message


def test_a_day_claimed_by_a_concurrent_tick_is_not_called_no_trade_at_the_cutoff() -> None:
    world = World.at(et("10:29:58"))
    other = World.at(et("10:29:59"), ROWS)
    other.ledger = world.ledger
    reads = world.sheet.read_rows

    def read_while_another_tick_publishes() -> list[list[Cell]]:
        rows: list[list[Cell]] = reads()
        if not other.publisher.published:
            other.tick()  # the concurrent invocation claims and publishes between this tick's reads
        return rows

    world.sheet.read_rows = read_while_another_tick_publishes
    assert world.tick().status == "published"  # its next loop turn is at the cutoff
    assert "signal.no_trade" not in world.publisher.alert_types()
    assert len(other.publisher.signals()) == 1


def test_deleting_the_published_row_is_an_edit() -> None:
    world = World.at(et("09:28"), ROWS)
    world.tick()
    world.sheet.rows = [HEADER]
    world.tick(et("09:29"))
    [alert] = world.publisher.alerts()
    assert alert.type == "signal.row_edited"
    assert "no longer in the sheet" in alert.message


def test_a_failed_read_after_publish_is_not_mistaken_for_an_edit() -> None:
    world = World.at(et("09:28"), ROWS)
    world.tick()
    world.sheet.errors = [SheetUnavailable("503")]
    world.tick(et("09:29"))
    assert world.publisher.alerts() == []


def test_the_no_trade_alert_says_why_there_is_no_trade() -> None:
    world = World.at(et("10:30"), [HEADER, ["2026-03-17", "QQQ", "Long", 2, 480], long_row(day="2026-03-17", qty=0)])
    world.tick()
    no_trade = next(a for a in world.publisher.alerts() if a.type == "signal.no_trade")
    assert "still empty at the 10:30 cutoff (missing: Sell Put)" in no_trade.message
    assert 'row 3, column "Quantità per Leg", value "0"' in no_trade.message


# ── a signal entered by hand (admin_api.manual_signal) ──────────────────────────────────────────────────────────


def manual_claim(world: World, *, publish_failed: bool = False) -> DayClaim:
    """The day claimed by an admin's entry at 09:40 (the sheet was down), published or with its publish failed."""
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    signal = Signal(signal_id=make_signal_id(DAY, "QQQ", spread, 2), date=DAY, ticker="QQQ", spread=spread,
                    qty_per_leg=2, detected_at=et("09:40"))
    claim = DayClaim(signal=signal, row_number=0, row={}, claimed_at=et("09:40"), source=MANUAL,
                     entered_by="admin@spreadpilot.local", publish_failed=publish_failed,
                     message_id=None if publish_failed else "m-manual")
    assert world.ledger.claim_day(claim, et("09:40"))
    return claim


def test_a_manual_signal_whose_publish_failed_is_published_by_the_next_tick_even_with_the_sheet_down() -> None:
    world = World.at(et("09:41"))
    world.sheet.errors = [SheetUnavailable("503")] * 100
    claim = manual_claim(world, publish_failed=True)
    result = world.tick()
    assert (result.status, result.signal_id) == ("published", claim.signal.signal_id)
    assert [s.signal_id for s in world.publisher.signals()] == [claim.signal.signal_id]
    world.tick(et("09:42"))
    assert len(world.publisher.signals()) == 1  # once


def test_after_a_manual_signal_the_sheets_rows_are_never_traded_and_a_different_one_is_critical_once() -> None:
    world = World.at(et("09:41"))
    manual_claim(world)
    world.tick()  # the sheet has nothing for today: the manual signal stands alone, no alert
    world.sheet.rows = [HEADER, long_row()]  # the strategist writes the same trade later: nothing to say
    world.tick(et("09:42"))
    assert world.publisher.alerts() == []
    world.sheet.rows = [HEADER, long_row(sell_put=490)]
    world.tick(et("09:43"))
    world.tick(et("09:44"))
    assert world.publisher.signals() == []  # the manual one went out from the admin API, nothing from here
    [alert] = world.publisher.alerts()
    assert (alert.type, alert.severity) == ("signal.row_edited", Severity.CRITICAL)
    assert "entered by hand by admin@spreadpilot.local" in alert.message
    assert "Sell Put=490" in alert.message
