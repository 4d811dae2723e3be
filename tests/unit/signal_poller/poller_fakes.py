"""In-memory stand-ins for the poller's I/O: a scripted sheet, a dict ledger, a recording publisher, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from signal_poller.ledger import Rejection
from signal_poller.poll import Poller, TickResult
from signal_poller.settings import PollerSettings
from signal_poller.sheet_reader import Rows
from spreadpilot import market_calendar
from spreadpilot.clock import NEW_YORK
from spreadpilot.envelopes import AlertMessage, Message, SignalMessage
from spreadpilot.errors import Retryable
from spreadpilot.models import Alert, Signal
from spreadpilot.sheet_header import Cell
from spreadpilot.signal_days import DayClaim

DAY = date(2026, 3, 17)  # a Tuesday, NYSE open
HEADER: list[Cell] = ["Data", "Ticker", "Strategia", "Quantità per Leg", "Buy Put", "Sell Put", "Sell Call", "Buy Call"]


def et(hh_mm: str, day: date = DAY) -> datetime:
    """``day`` at ``HH:MM[:SS]`` New York time."""
    return datetime.combine(day, time.fromisoformat(hh_mm), NEW_YORK)


def long_row(day: str = "2026-03-17", qty: Cell = 2, buy_put: Cell = 480, sell_put: Cell = 485) -> list[Cell]:
    return [day, "QQQ", "Long", qty, buy_put, sell_put]


def short_row(day: str = "2026-03-17", qty: Cell = 1, sell_call: Cell = 495, buy_call: Cell = 500) -> list[Cell]:
    return [day, "QQQ", "Short", qty, None, None, sell_call, buy_call]


class ManualClock:
    """Business time that moves only when slept or advanced."""

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.sleep_sync(seconds)

    def sleep_sync(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)

    def set(self, at: datetime) -> None:
        self.at = at


@dataclass
class ScriptedSheet:
    """The sheet's content over time: ``changes`` are (time, rows) in order; ``errors`` fail the next reads."""

    clock: ManualClock
    rows: Rows = field(default_factory=lambda: [list(HEADER)])
    changes: list[tuple[datetime, Rows]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    reads: list[datetime] = field(default_factory=list)

    def at(self, when: datetime, rows: Rows) -> ScriptedSheet:
        """From ``when`` on, the sheet holds ``rows``."""
        self.changes.append((when, rows))
        return self

    def read_rows(self) -> Rows:
        now = self.clock.now()
        self.reads.append(now)
        if self.errors:
            raise self.errors.pop(0)
        while self.changes and self.changes[0][0] <= now:
            self.rows = self.changes.pop(0)[1]
        return [list(row) for row in self.rows]


@dataclass
class MemoryLedger:
    """The ledger as dicts, with the same once-only semantics as Firestore's ``create()``."""

    days: dict[date, DayClaim] = field(default_factory=dict)
    signals: dict[str, dict[str, object]] = field(default_factory=dict)
    rejections: dict[str, Rejection] = field(default_factory=dict)
    alert_claims: dict[str, str | None] = field(default_factory=dict)
    poll_days: dict[date, dict[str, object]] = field(default_factory=dict)
    fail_publish_record: bool = False

    def day_claim(self, day: date) -> DayClaim | None:
        return self.days.get(day)

    def claim_day(self, claim: DayClaim, at: datetime) -> bool:
        if claim.signal.date in self.days:
            return False
        self.days[claim.signal.date] = claim
        self.signals[claim.signal.signal_id] = {
            "signal": claim.signal, "row": claim.row, "row_number": claim.row_number, "status": "claimed",
            "timeline": [("detected", claim.signal.detected_at), ("claimed", at)],
        }
        return True

    def record_published(self, claim: DayClaim, message_id: str, at: datetime) -> None:
        self.days[claim.signal.date] = claim.model_copy(update={"message_id": message_id, "publish_failed": False})
        doc = self.signals[claim.signal.signal_id]
        doc.update(status="published", message_id=message_id)
        timeline = doc["timeline"]
        assert isinstance(timeline, list)
        timeline.append(("published", at))

    def record_publish_failed(self, claim: DayClaim) -> None:
        self.days[claim.signal.date] = self.days[claim.signal.date].model_copy(update={"publish_failed": True})

    def record_rejection(self, rejection: Rejection, at: datetime) -> bool:
        if rejection.doc_id in self.rejections:
            return False
        self.rejections[rejection.doc_id] = rejection
        return True

    def claim_alert(self, alert_id: str, at: datetime) -> bool:
        if alert_id in self.alert_claims:
            return False
        self.alert_claims[alert_id] = None
        return True

    def release_alert(self, alert_id: str) -> None:
        del self.alert_claims[alert_id]

    def record_alert_sent(self, day: date, alert_id: str, message_id: str) -> None:
        self.alert_claims[alert_id] = message_id

    def record_poll(self, day: date, at: datetime, polls: int, status: str) -> None:
        doc = self.poll_days.setdefault(day, {"polls": 0, "ticks": 0})
        polls_so_far, ticks = doc["polls"], doc["ticks"]
        assert isinstance(polls_so_far, int)
        assert isinstance(ticks, int)
        doc.update(last_poll_at=at, polls=polls_so_far + polls, ticks=ticks + 1, status=status)


@dataclass
class RecordingPublisher:
    """Keeps every published message by topic; ``fail_next`` makes publishes fail like the real one (Retryable)."""

    published: list[tuple[str, Message]] = field(default_factory=list)
    fail_next: int = 0

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise Retryable(f"publish to {topic} failed: injected")
        self.published.append((topic, message))
        return f"m{len(self.published)}"

    def signals(self) -> list[Signal]:
        return [m.signal for t, m in self.published if t == "signals" and isinstance(m, SignalMessage)]

    def alerts(self) -> list[Alert]:
        return [m.alert for t, m in self.published if t == "alerts" and isinstance(m, AlertMessage)]

    def alert_types(self) -> list[str]:
        return [a.type for a in self.alerts()]


def settings(**overrides: object) -> PollerSettings:
    values: dict[str, object] = {"GOOGLE_CLOUD_PROJECT": "test", "sheet_id": "sheet-1", **overrides}
    return PollerSettings.model_validate(values)


@dataclass
class World:
    """A poller over fakes, ticking at whatever time the clock says."""

    clock: ManualClock
    sheet: ScriptedSheet
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    settings: PollerSettings = field(default_factory=settings)

    @classmethod
    def at(cls, when: datetime, rows: Rows | None = None, **overrides: object) -> World:
        clock = ManualClock(when)
        sheet = ScriptedSheet(clock, rows=rows if rows is not None else [list(HEADER)])
        return cls(clock=clock, sheet=sheet, settings=settings(**overrides))

    def tick(self, at: datetime | None = None) -> TickResult:
        if at is not None:
            self.clock.set(at)
        poller = Poller(
            settings=self.settings, reader=self.sheet, ledger=self.ledger, publisher=self.publisher,
            clock=self.clock, is_trading_day=market_calendar.is_trading_day,
        )
        return poller.run()
