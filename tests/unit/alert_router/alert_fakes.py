"""In-memory stand-ins for the alert router's ports: they record what happened for the tests to read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from alert_router.ports import Admission, Busy, ChannelError, ChannelState, Claimed, Deferred, DeliveryStatus, Done
from alert_router.records import within_cooldown
from alert_router.settings import AlertRouterSettings
from spreadpilot.models import Alert, Severity

AT = datetime(2026, 3, 17, 14, 40, tzinfo=UTC)


def make_settings(**overrides: object) -> AlertRouterSettings:
    values: dict[str, object] = {
        "GOOGLE_CLOUD_PROJECT": "test",
        "web_base_url": "https://admin.example",
        "SPREADPILOT_ALERT_TELEGRAM_CHAT_IDS": "-1001",
        "alert_email_to": "ops@example.com",
        "alert_cooldown_s": 300,
        "alert_max_attempts": 3,
        "alert_retry_after_max_wait_s": 5.0,
    }
    values.update(overrides)
    return AlertRouterSettings.model_validate(values)


def make_alert(
    alert_id: str = "a-1", severity: Severity = Severity.CRITICAL, at: datetime = AT, **fields: object
) -> Alert:
    doc: dict[str, object] = {
        "alert_id": alert_id,
        "type": "executor.heartbeat_stale",
        "severity": severity,
        "message": "Executor heartbeat is 95 s old",
        "at": at,
        "source": "watchdog",
    }
    doc.update(fields)
    return Alert.model_validate(doc)


@dataclass
class Record:
    alert: Alert
    count: int = 1
    collapsed_into: str | None = None
    suppressed_before: int = 0
    delivery: dict[str, ChannelState] = field(default_factory=dict)


class MemoryRecords:
    """``AlertRecords`` in a dict, with the Firestore adapter's semantics."""

    def __init__(self) -> None:
        self.alerts: dict[str, Record] = {}
        self.cooldowns: dict[str, tuple[str, datetime]] = {}
        self.undeliverable: list[Alert] = []

    def admit(self, alert: Alert, channels: tuple[str, ...], cooldown: timedelta) -> Admission:
        if alert.alert_id in self.alerts:
            mine = self.alerts[alert.alert_id]
            return Admission(mine.collapsed_into, mine.suppressed_before)
        window = self.cooldowns.get(alert.dedup_key)
        if window and within_cooldown(alert.at, window[1], cooldown):
            self.alerts[window[0]].count += 1
            self.alerts[alert.alert_id] = Record(alert, collapsed_into=window[0])
            return Admission(window[0])
        suppressed = self.alerts[window[0]].count - 1 if window else 0
        self.cooldowns[alert.dedup_key] = (alert.alert_id, alert.at)
        self.alerts[alert.alert_id] = Record(alert, suppressed_before=suppressed,
                                             delivery={c: ChannelState() for c in channels})
        return Admission(None, suppressed)

    def begin(
        self, alert_id: str, channel: str, now: datetime, lease: timedelta, wall_now: float
    ) -> Claimed | Busy | Done | Deferred:
        state = self.alerts[alert_id].delivery.get(channel, ChannelState())
        if state.status in (DeliveryStatus.SENT, DeliveryStatus.DEAD_LETTER):
            return Done(state)
        if state.status is DeliveryStatus.SENDING and state.lease_until and state.lease_until > now:
            return Busy(state.lease_until)
        if state.retry_not_before is not None and state.retry_not_before > wall_now:
            return Deferred(state.retry_not_before)
        taken = replace(state, status=DeliveryStatus.SENDING, attempts=state.attempts + 1, lease_until=now + lease)
        self.alerts[alert_id].delivery[channel] = taken
        return Claimed(taken)

    def finish(self, alert_id: str, channel: str, state: ChannelState) -> None:
        self.alerts[alert_id].delivery[channel] = state

    def store_undeliverable(self, alert: Alert) -> None:
        if alert not in self.undeliverable:
            self.undeliverable.append(alert)


class RecordingDeadLetters:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def dead_letter(self, alert: Alert) -> None:
        if alert not in self.alerts:
            self.alerts.append(alert)


class ScriptedTelegram:
    """Delivers, or fails with the queued errors first (``ChannelError`` with or without ``retry_after``)."""

    def __init__(self, failures: list[ChannelError] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[tuple[str, str]] = []

    def send_message(self, chat_id: str, text: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, text))
        return str(len(self.sent))


class ScriptedEmail:
    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[tuple[tuple[str, ...], str, str]] = []

    def send(self, to: tuple[str, ...], subject: str, text: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, subject, text))
        return f"mail-{len(self.sent)}"


class FakeTime:
    """Real (wall) seconds as the router sleeps them: ``sleep`` records the wait and advances ``wall``."""

    def __init__(self, start: float = 1_773_758_400.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def wall(self) -> float:
        return self.now
