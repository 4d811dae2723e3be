"""A hung gateway (IBC logged in, the API silent): restarted by the supervisor outside 09:25-16:15 ET on a trading
day, put to an operator inside those hours, restarted there only once approved (``supervisor.hung``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor.hung import HungWatch, Step, busy_hours

TUESDAY_1100 = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # 11:00 EST
TUESDAY_1630 = datetime(2026, 12, 8, 21, 30, tzinfo=UTC)  # 16:30 EST


def test_the_busy_hours_are_0925_to_1615_on_trading_days_and_end_at_1315_on_a_half_day() -> None:
    assert busy_hours(datetime(2026, 12, 8, 14, 25, tzinfo=UTC))  # 09:25 EST
    assert not busy_hours(datetime(2026, 12, 8, 14, 24, tzinfo=UTC))
    assert busy_hours(datetime(2026, 12, 8, 21, 14, tzinfo=UTC))  # 16:14
    assert not busy_hours(datetime(2026, 12, 8, 21, 15, tzinfo=UTC))  # 16:15
    assert not busy_hours(datetime(2026, 12, 12, 16, 0, tzinfo=UTC))  # a Saturday
    assert not busy_hours(datetime(2026, 12, 25, 16, 0, tzinfo=UTC))  # Christmas Day
    assert busy_hours(datetime(2026, 11, 27, 18, 14, tzinfo=UTC))  # 13:14 on the day after Thanksgiving
    assert not busy_hours(datetime(2026, 11, 27, 18, 15, tzinfo=UTC))  # 13:15: the half day's close + 15 min


def test_a_hang_is_restarted_after_its_threshold_outside_the_busy_hours_and_forgotten_once_it_answers() -> None:
    watch = HungWatch(restart_after_s=300)
    assert watch.step("gw", True, TUESDAY_1630, None) == (Step.NOTHING, 0.0)
    assert watch.step("gw", True, TUESDAY_1630 + timedelta(seconds=299), None) == (Step.NOTHING, 299.0)
    assert watch.step("gw", True, TUESDAY_1630 + timedelta(seconds=300), None) == (Step.RESTART, 300.0)
    assert watch.step("gw", False, TUESDAY_1630 + timedelta(seconds=310), None) == (Step.NOTHING, 0.0)
    assert watch.step("gw", True, TUESDAY_1630 + timedelta(seconds=320), None) == (Step.NOTHING, 0.0)  # afresh


def test_during_the_busy_hours_an_operator_is_asked_once_and_only_an_approval_given_for_this_hang_restarts_it() -> None:
    watch = HungWatch(restart_after_s=300)
    earlier = TUESDAY_1100 - timedelta(hours=1)  # an approval of an earlier hang
    watch.step("gw", True, TUESDAY_1100, earlier)
    later = TUESDAY_1100 + timedelta(minutes=6)
    assert watch.step("gw", True, later, earlier) == (Step.ASK, 360.0)
    assert [watch.first_ask("gw"), watch.first_ask("gw")] == [True, False]
    approved = TUESDAY_1100 + timedelta(minutes=7)
    assert watch.step("gw", True, approved + timedelta(seconds=10), approved)[0] is Step.RESTART
    assert watch.step("other", False, later, None) == (Step.NOTHING, 0.0)


def test_three_restarts_within_the_hour_that_never_made_the_api_answer_stop_the_restarts_and_ask_instead() -> None:
    watch = HungWatch(restart_after_s=300)
    at = TUESDAY_1630
    for _ in range(3):
        watch.step("gw", True, at, None)
        assert watch.step("gw", True, at + timedelta(seconds=300), None)[0] is Step.RESTART
        watch.restarted("gw", at + timedelta(seconds=300))
        at += timedelta(minutes=6)
    watch.step("gw", True, at, None)
    assert watch.step("gw", True, at + timedelta(seconds=300), None)[0] is Step.ASK  # 16:48: a fourth would loop
    assert watch.restarting_in_vain("gw", at + timedelta(seconds=300))
    later = at + timedelta(hours=1, minutes=5)  # the oldest restarts have aged out of the hour
    assert watch.step("gw", True, later, None)[0] is Step.RESTART
    watch.answered("gw")  # a restart that works clears the count
    assert not watch.restarting_in_vain("gw", later)
