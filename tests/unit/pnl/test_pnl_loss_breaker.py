"""The consecutive-loss breaker: the daily rollup pauses a follower whose trades lost N times in a row."""

from __future__ import annotations

from datetime import date

import pytest
from pnl_fixtures import MemoryRecords, RecordingPublisher, daily, et, fill, follower

from pnl.breaker import BREAKER, trip_on_losing_runs
from pnl.settings import PnLSettings
from pnl.tick import Job, Tick, run_tick
from spreadpilot.envelopes import AlertMessage

MAR = [date(2026, 3, d) for d in (16, 17, 18, 19)]  # Monday to Thursday


def alerts(publisher: RecordingPublisher) -> list[tuple[str, str, str | None]]:
    return [(m.alert.type, m.alert.severity, m.alert.follower_id) for _, m in publisher.sent
            if isinstance(m, AlertMessage)]


def test_the_third_losing_trade_in_a_row_pauses_that_follower_once_and_a_win_between_resets_the_run(
    records: MemoryRecords, publisher: RecordingPublisher
) -> None:
    for fid, pnls in (("f01", ["-10", "-20", "-30"]), ("f02", ["-10", "15", "-30"])):
        for day, pnl in zip(MAR, pnls, strict=False):
            records.put_daily(daily(fid, day, pnl))
    today = records.daily(MAR[2], ["f01", "f02"]).values()
    for _ in range(2):  # a redelivered tick writes the same pause and the same alert id
        tripped = trip_on_losing_runs(records, publisher, MAR[2], today, 3, et(MAR[2], 16, 31))
    assert tripped == ["f01"]
    assert records.controls["f01"]["entries_paused"] is True
    assert records.controls["f01"]["updated_by"] == BREAKER
    assert "3 losing trades in a row (limit 3)" in str(records.controls["f01"]["reason"])
    assert "f02" not in records.controls
    assert {m.alert.alert_id for _, m in publisher.sent} == {"pnl-loss-run-f01-2026-03-18"}
    assert trip_on_losing_runs(records, publisher, MAR[2], today, 0, et(MAR[2], 16, 31)) == []  # 0: off


def test_the_scheduled_rollup_trips_it_and_a_correction_of_an_old_day_does_not(
    records: MemoryRecords, publisher: RecordingPublisher, settings: PnLSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPREADPILOT_CONSECUTIVE_LOSS_LIMIT", "2")
    limited = PnLSettings()
    records.follower_docs["f01"] = follower("f01")
    records.put_daily(daily("f01", MAR[0], "-25"))
    # today: a spread sold for 1.00 and bought back for 1.50 (a $50 loss)
    records.fills = [fill(et(MAR[1], 9, 31), "SLD", 1, "1.00"), fill(et(MAR[1], 11, 0), "BOT", 1, "1.50")]
    run_tick(Tick(job=Job.DAILY, date=MAR[1]), records, publisher, limited, et(MAR[2], 9, 0))  # a correction
    assert records.controls == {}
    run_tick(Tick(job=Job.DAILY), records, publisher, limited, et(MAR[1], 16, 30))
    assert records.controls["f01"]["entries_paused"] is True
    assert ("follower.loss_run", "CRITICAL", "f01") in alerts(publisher)
    assert settings.consecutive_loss_limit == 0  # off unless set
