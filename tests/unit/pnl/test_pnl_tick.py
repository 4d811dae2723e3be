"""Scheduler ticks: which job, which day or month, and when to do nothing."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from pnl_fixtures import MemoryRecords, RecordingPublisher, daily, et, fill, follower

from pnl.daily import DailyRun
from pnl.monthly import MonthlyRun
from pnl.settings import PnLSettings
from pnl.tick import Job, Tick, parse_tick, run_tick
from spreadpilot.errors import Rejected

SOURCE = "//pubsub.googleapis.com/projects/spreadpilot-test/topics/"


def push(payload: object | None) -> dict[str, object]:
    data = base64.b64encode(json.dumps(payload).encode()).decode() if payload is not None else ""
    return {"message": {"data": data, "messageId": "1", "attributes": {}}}


def test_the_topic_names_the_job_when_the_payload_does_not() -> None:
    assert parse_tick(SOURCE + "tick-pnl-daily", push(None)) == Tick(job=Job.DAILY)
    assert parse_tick(SOURCE + "tick-pnl-monthly", push({})) == Tick(job=Job.MONTHLY)


def test_an_operator_can_name_the_day_or_month_to_rerun() -> None:
    tick = parse_tick("//anything", push({"job": "pnl-daily", "date": "2026-03-17"}))
    assert tick == Tick(job=Job.DAILY, date=date(2026, 3, 17))
    assert parse_tick("//x", push({"job": "pnl-monthly", "month": "2026-03"})).month == "2026-03"


@pytest.mark.parametrize("payload", [{"job": "pnl-weekly"}, {"job": "pnl-monthly", "month": "2026-13"}, [1, 2]])
def test_malformed_ticks_are_rejected(payload: object) -> None:
    with pytest.raises(Rejected):
        parse_tick(SOURCE + "tick-pnl-daily", push(payload))


def test_a_tick_from_an_unknown_topic_without_a_job_is_rejected() -> None:
    with pytest.raises(Rejected, match="not a P&L tick topic"):
        parse_tick(SOURCE + "signals", push(None))


def test_the_scheduled_daily_tick_does_nothing_on_a_market_holiday(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    good_friday = date(2026, 4, 3)
    records.fills = [fill(et(good_friday, 10, 0), "SLD", 1, "1")]

    assert run_tick(Tick(job=Job.DAILY), records, publisher, settings, et(good_friday, 16, 30)) is None
    assert records.daily_docs == {}


def test_an_explicit_date_runs_even_on_a_closed_day(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    saturday = date(2026, 3, 21)
    records.fills = [fill(et(saturday, 10, 0), "SLD", 1, "1")]

    result = run_tick(Tick(job=Job.DAILY, date=saturday), records, publisher, settings, et(saturday, 18, 0))

    assert isinstance(result, DailyRun)
    assert result.written == ("f01",)


def test_the_monthly_tick_on_the_first_closes_the_previous_month(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    records.follower_docs["f01"] = follower()
    records.put_daily(daily("f01", date(2026, 3, 31), "10"))

    result = run_tick(Tick(job=Job.MONTHLY), records, publisher, settings, et(date(2026, 4, 1), 0, 10))

    assert isinstance(result, MonthlyRun)
    assert result.month == "2026-03"
    assert "f01:2026-03" in records.monthly_docs


def test_a_late_scheduler_tick_rolls_up_the_day_it_was_scheduled_for(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings
) -> None:
    day = date(2026, 3, 17)
    records.fills = [fill(et(day, 10, 0), "SLD", 1, "1")]
    tick = parse_tick(SOURCE + "tick-pnl-daily", push({"job": "pnl-daily", "scheduled_at": et(day, 16, 30)
                                                       .isoformat(), "attempt": 3}))

    result = run_tick(tick, records, publisher, settings, et(date(2026, 3, 18), 0, 5))  # delivered after midnight

    assert isinstance(result, DailyRun)
    assert result.day == day
