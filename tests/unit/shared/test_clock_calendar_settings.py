import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import pytest
from pydantic import Field

from spreadpilot.clock import NEW_YORK, SimClock, parse_clock
from spreadpilot.errors import ConfigError
from spreadpilot.market_calendar import early_by, is_trading_day, on_the_day, session_close
from spreadpilot.settings import CommonSettings, load_settings


def test_simulated_clock_runs_faster_from_its_anchor() -> None:
    clock = SimClock(datetime(2026, 3, 17, 9, 25, tzinfo=NEW_YORK), speed=600, anchor=time.time() - 1.0)
    elapsed = (clock.now() - datetime(2026, 3, 17, 9, 25, tzinfo=NEW_YORK)).total_seconds()
    assert 600 <= elapsed < 1200  # one real second (plus test overhead) is ten simulated minutes


def test_clock_spec_round_trips_so_every_process_shares_one_simulated_time() -> None:
    clock = SimClock(datetime(2026, 3, 17, 9, 25, tzinfo=NEW_YORK), speed=120, anchor=1_700_000_000.0)
    assert parse_clock(clock.spec()) == clock


def test_simulated_sleep_is_shortened_by_the_speed() -> None:
    clock = SimClock(datetime(2026, 3, 17, 9, 25, tzinfo=NEW_YORK), speed=1000, anchor=time.time())
    started = time.monotonic()
    asyncio.run(clock.sleep(1.0))
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "spec", ["sim:yesterday@2x/0", "fast", "sim:2026-03-17T09:25:00@2x/0", "sim:2026-03-17T09:25:00-04:00@0x/1"]
)
def test_malformed_clock_setting_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="SPREADPILOT_CLOCK"):
        parse_clock(spec)


def test_calendar_knows_weekends_holidays_and_half_days() -> None:
    assert is_trading_day(date(2026, 3, 17))
    assert not is_trading_day(date(2026, 3, 21))  # Saturday
    assert not is_trading_day(date(2026, 12, 25))  # Christmas
    assert session_close(date(2026, 3, 17)) == datetime(2026, 3, 17, 16, 0, tzinfo=NEW_YORK)
    assert session_close(date(2026, 11, 27)).hour == 13  # the day after Thanksgiving
    assert session_close(date(2026, 11, 27)).astimezone(UTC).hour == 18


class _Needs(CommonSettings):
    sheet_id: str = Field(description="spreadsheet id")
    poll_interval_s: float = 2.0


def test_missing_setting_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.delenv("SPREADPILOT_SHEET_ID", raising=False)
    with pytest.raises(ConfigError, match="SPREADPILOT_SHEET_ID is missing"):
        load_settings(_Needs)


def test_invalid_setting_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("SPREADPILOT_SHEET_ID", "abc")
    monkeypatch.setenv("SPREADPILOT_POLL_INTERVAL_S", "often")
    with pytest.raises(ConfigError, match="SPREADPILOT_POLL_INTERVAL_S is invalid"):
        load_settings(_Needs)


def test_missing_project_names_google_cloud_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("SPREADPILOT_PROJECT", raising=False)
    with pytest.raises(ConfigError, match="CommonSettings: GOOGLE_CLOUD_PROJECT is missing"):
        load_settings(CommonSettings)


def test_malformed_clock_in_settings_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    monkeypatch.setenv("SPREADPILOT_CLOCK", "warp")
    with pytest.raises(ConfigError, match="SPREADPILOT_CLOCK"):
        load_settings(CommonSettings)


def test_a_regular_day_time_moves_as_much_earlier_as_a_half_days_close() -> None:
    assert early_by(date(2026, 11, 27)) == timedelta(hours=3)  # the day after Thanksgiving closes at 13:00
    assert on_the_day(date(2026, 11, 27), dtime(15, 55)) == dtime(12, 55)
    assert on_the_day(date(2026, 12, 24), dtime(16, 0)) == dtime(13, 0)
    assert on_the_day(date(2026, 12, 7), dtime(15, 55)) == dtime(15, 55)
    assert early_by(date(2026, 12, 25)) == timedelta(0)  # no session at all


def test_the_isolated_calendar_table_answers_every_day_as_the_calendar_does_without_pandas_in_the_process() -> None:
    # The executor held ~60 MB of pandas for the calendar (196 MB at 1000 followers against a 150 MB target).
    import subprocess
    import sys

    probe = """
import sys
from datetime import date, timedelta
from spreadpilot import market_calendar as m
m.preload_isolated(date(2026, 12, 8))
assert "pandas" not in sys.modules, "pandas was loaded in the process"
days = [date(2026, 1, 1) + timedelta(days=n) for n in range(540)]
tabled = [(d, m.is_trading_day(d), m.is_trading_day(d) and m.session_close(d)) for d in days]
assert "pandas" not in sys.modules, "a day inside the table loaded the calendar"
assert m.session_close(date(2026, 11, 27)).hour == 13 and not m.is_trading_day(date(2026, 12, 25))
m._table = None  # the calendar itself, for the same days
assert tabled == [(d, m.is_trading_day(d), m.is_trading_day(d) and m.session_close(d)) for d in days]
m.preload_isolated(date(2026, 12, 8))
assert m.is_trading_day(date(2024, 3, 15)) and not m.is_trading_day(date(2024, 3, 16))  # before it: the calendar
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_an_isolated_calendar_read_that_fails_leaves_the_calendar_itself_to_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    from spreadpilot import market_calendar

    def fails(*args: object, **kwargs: object) -> object:
        raise subprocess.TimeoutExpired("python", 120)

    monkeypatch.setattr(market_calendar, "_table", None)
    monkeypatch.setattr(market_calendar.subprocess, "run", fails)
    market_calendar.preload_isolated(date(2026, 12, 8))  # a start-up that continues, never a crash
    assert market_calendar._table is None
    assert session_close(date(2026, 11, 27)).hour == 13
    assert not is_trading_day(date(2026, 12, 25))
