"""A gateway that goes away in a restart or maintenance window is reconciled, not paged; at 11:00 it is paged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from executor_fakes import FakeBroker, RecordingPublisher

from executor.alerts import Alerts
from executor.broker import BrokerTruth
from executor.gateways import GatewayLink
from executor.restarts import RestartWindows
from spreadpilot.clock import NEW_YORK


@dataclass
class StepClock:
    at: datetime
    speed: float = 1.0

    def now(self) -> datetime:
        return self.at.astimezone(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    def sleep_sync(self, seconds: float) -> None:
        return None


def et(day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=NEW_YORK)  # 2026-03-16 is a Monday


async def outage(down_at: datetime, minutes: int) -> list[str]:
    """A link that was ready goes down at ``down_at`` and stays down ``minutes``; the alerts it raised."""
    clock = StepClock(down_at - timedelta(minutes=1))
    publisher = RecordingPublisher()

    async def reconciler(gateway_id: str, truth: BrokerTruth) -> None:
        return None

    broker = FakeBroker(accounts=["DU001"])
    link = GatewayLink("gw", broker, clock=clock, alerts=Alerts(publisher, "alerts", clock), reconciler=reconciler,
                       on_order=lambda u: None, on_execution=lambda e: None, down_alert_s=30)
    broker.connected = True
    await link._reconcile("connected")
    clock.at = down_at
    broker.drop_connection()
    for _ in range(minutes * 2):
        clock.at += timedelta(seconds=30)
        await link._maybe_alert_down()
    return publisher.alert_types()


@pytest.mark.parametrize(("name", "down_at", "minutes"), [
    ("IBC's nightly restart at 23:45", et(17, 23, 45), 5),
    ("IBKR's daily reset at 00:30", et(18, 0, 30), 20),
    ("IBKR's weekend maintenance, Friday 23:30", et(20, 23, 30), 60),
])
def test_a_disconnect_inside_a_restart_window_raises_no_critical_alert(name: str, down_at: datetime,
                                                                       minutes: int) -> None:
    assert asyncio.run(outage(down_at, minutes)) == [], name


def test_the_same_disconnect_at_1100_is_paged() -> None:
    assert asyncio.run(outage(et(17, 11, 0), 5)) == ["gateway.disconnected"]


def test_a_restart_that_overruns_its_window_is_paged() -> None:
    assert asyncio.run(outage(et(17, 23, 45), 15)) == ["gateway.disconnected"]


def test_windows_are_new_york_times_across_midnight_and_daylight_saving() -> None:
    windows = RestartWindows.standard()
    assert windows.covering(et(18, 1, 0)) is not None  # inside the 00:15-01:45 reset
    assert windows.covering(et(18, 2, 0)) is None
    assert windows.covering(datetime(2026, 11, 3, 23, 50, tzinfo=NEW_YORK)) is not None  # after the DST change
