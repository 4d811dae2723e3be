"""The watchdog served by functions-framework on a simulated trading day, ticked through the Pub/Sub emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from alerts_support import ROUTER_ENV, WATCHDOG_CLOCK, WATCHDOG_ENV, wait_for
from google.cloud import firestore

from fakes.control import SinkControl
from spreadpilot.clock import new_york
from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import Severity, Signal, Spread, Strategy, make_signal_id
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap


@pytest.fixture
def ticker(clean_stack: LocalStack, serve_function: Callable[..., str]) -> Callable[[], None]:
    serve_function("watchdog", WATCHDOG_ENV)
    return lambda: clean_stack.pubsub.publish("tick-watchdog", b"{}")


def set_heartbeat(db: firestore.Client, age_s: float) -> None:
    at = WATCHDOG_CLOCK.now() - timedelta(seconds=age_s)
    gateway = {"connected": True, "since": (at - timedelta(hours=1)).isoformat()}
    db.collection("heartbeats").document("executor").set({"at": at.isoformat(), "gateways": {"gw1": gateway}})


def seed_todays_signal(db: firestore.Client) -> None:
    day = new_york(WATCHDOG_CLOCK.now()).date()
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    Store(db).signals.create(Signal(signal_id=make_signal_id(day, "QQQ", spread, 2), date=day, ticker="QQQ",
                                    spread=spread, qty_per_leg=2, detected_at=WATCHDOG_CLOCK.now()))


def last_tick(db: firestore.Client) -> dict[str, object] | None:
    snap = db.collection("heartbeats").document("watchdog").get()
    return snap.to_dict() if snap.exists else None


def test_watchdog_fires_a_critical_alert_on_a_stale_heartbeat_and_it_reaches_the_operators(
    ticker: Callable[[], None], firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
    serve_function: Callable[..., str], sink: SinkControl,
) -> None:
    serve_function("alert_router", ROUTER_ENV)
    alerts = tap("alerts")
    seed_todays_signal(firestore_db)
    set_heartbeat(firestore_db, age_s=180)
    ticker()
    [message] = alerts.pull(1, timeout_s=20)
    alert = decode(message.data, AlertMessage).alert
    assert (alert.type, alert.severity, alert.source) == ("executor.heartbeat_stale", Severity.CRITICAL, "watchdog")
    emails = wait_for(sink.emails, "the CRITICAL alert emailed")
    assert "executor.heartbeat_stale" in emails[0]["summary"]["subject"]
    assert any("Executor heartbeat is" in (m["summary"]["text"] or "") for m in sink.telegram_messages())


def test_watchdog_stays_quiet_when_all_is_well(
    ticker: Callable[[], None], firestore_db: firestore.Client, tap: Callable[[str], TopicTap]
) -> None:
    alerts = tap("alerts")
    seed_todays_signal(firestore_db)
    set_heartbeat(firestore_db, age_s=5)
    ticker()
    tick = wait_for(lambda: last_tick(firestore_db), "the watchdog's tick")
    assert tick["raised"] == []
    assert alerts.pull(1, timeout_s=2) == []
