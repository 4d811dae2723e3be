"""The watchdog's checks: pure functions of ``now`` and what Firestore holds, returning the alerts due.

Alert ids are deterministic per condition and episode (a given stale heartbeat, a given disconnection, a day), so
the same condition seen on every tick is raised once.
"""

from __future__ import annotations

from datetime import datetime

from deadman.ports import Heartbeat, WatchdogReader
from deadman.settings import WatchdogSettings
from spreadpilot.clock import new_york
from spreadpilot.market_calendar import is_trading_day, session_close
from spreadpilot.models import Alert, IntentKind, OrderIntent, Severity, Signal

SOURCE = "watchdog"


def _alert(alert_id: str, type_: str, severity: Severity, message: str, now: datetime, **fields: object) -> Alert:
    return Alert.model_validate(
        {"alert_id": alert_id, "type": type_, "severity": severity, "message": message, "at": now, "source": SOURCE,
         **fields}
    )


def heartbeat_alerts(now: datetime, heartbeat: Heartbeat | None, settings: WatchdogSettings) -> list[Alert]:
    """A stale or missing executor heartbeat (CRITICAL), else disconnected gateways (WARNING, then CRITICAL)."""
    day = f"{new_york(now):%Y%m%d}"
    if heartbeat is None:
        return [_alert(f"wd-{day}-executor-stale-missing", "executor.heartbeat_stale", Severity.CRITICAL,
                       "No executor heartbeat at all: the executor is not running.", now)]
    age = (now - heartbeat.at).total_seconds()
    if age > settings.watchdog_heartbeat_max_age_s:
        return [_alert(
            f"wd-{day}-executor-stale-{int(heartbeat.at.timestamp())}", "executor.heartbeat_stale", Severity.CRITICAL,
            f"Executor heartbeat is {int(age)} s old (limit {settings.watchdog_heartbeat_max_age_s} s):"
            " the executor may be down or stuck.",
            now, context={"last_heartbeat": heartbeat.at.isoformat(), "age_s": str(int(age))},
        )]
    alerts = []
    for gateway_id, gateway in sorted(heartbeat.gateways.items()):
        if gateway.connected:
            continue
        down_s = (now - gateway.since).total_seconds() if gateway.since else None
        critical = down_s is not None and down_s > settings.watchdog_gateway_critical_after_s
        severity = Severity.CRITICAL if critical else Severity.WARNING
        episode = str(int(gateway.since.timestamp())) if gateway.since else "unknown"
        duration = f" for {int(down_s)} s" if down_s is not None else ""
        alerts.append(_alert(
            f"wd-{day}-gateway-{gateway_id}-{episode}-{severity.lower()}", "gateway.disconnected", severity,
            f"Gateway {gateway_id} is disconnected{duration}.", now,
            context={"gateway_id": gateway_id, **({"since": gateway.since.isoformat()} if gateway.since else {})},
        ))
    return alerts


def signal_alerts(now: datetime, signals: list[Signal], settings: WatchdogSettings) -> list[Alert]:
    """No signal by the deadline (WARNING)."""
    local = new_york(now)
    if signals or local.time() < settings.watchdog_signal_deadline:
        return []
    return [_alert(f"wd-{local:%Y%m%d}-no-signal", "signal.missing", Severity.WARNING,
                   f"No signal by {settings.watchdog_signal_deadline:%H:%M} ET on {local.date()}.", now)]


def order_alerts(now: datetime, signal: Signal, intents: list[OrderIntent], settings: WatchdogSettings) -> list[Alert]:
    """Entry orders of ``signal`` not final by the deadline (WARNING)."""
    local = new_york(now)
    if local.time() < settings.watchdog_orders_deadline:
        return []
    open_ = [i for i in intents if i.kind is IntentKind.ENTRY and not i.state.final]
    if not open_:
        return []
    followers = ", ".join(sorted(i.follower_id for i in open_)[:20])
    return [_alert(
        f"wd-{local:%Y%m%d}-orders-open-{signal.signal_id}", "orders.not_final", Severity.WARNING,
        f"{len(open_)} of {len(intents)} entry orders of signal {signal.signal_id} are not final by "
        f"{settings.watchdog_orders_deadline:%H:%M} ET: {followers}.",
        now, signal_id=signal.signal_id, context={"open_orders": str(len(open_))},
    )]


def due_alerts(now: datetime, reader: WatchdogReader, settings: WatchdogSettings) -> list[Alert]:
    """Every alert due at ``now`` (none outside trading days and the watched hours)."""
    local = new_york(now)
    day = local.date()
    if not is_trading_day(day) or local.time() < settings.watchdog_watch_from or local > session_close(day):
        return []
    alerts = heartbeat_alerts(now, reader.heartbeat(), settings)
    if local.time() < settings.watchdog_signal_deadline:
        return alerts
    signals = reader.signals_on(day)
    alerts.extend(signal_alerts(now, signals, settings))
    for signal in signals:
        if local.time() >= settings.watchdog_orders_deadline:
            alerts.extend(order_alerts(now, signal, reader.orders_for(signal.signal_id), settings))
    return alerts
