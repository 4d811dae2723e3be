"""What the router needs from the outside world, as small Protocols (real adapters in ``adapters``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from spreadpilot.models import Alert


class ChannelError(Exception):
    """A channel could not deliver; ``retry_after`` (seconds) when the service asked us to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TelegramSender(Protocol):
    def send_message(self, chat_id: str, text: str) -> str:
        """Send ``text`` to ``chat_id``; the Telegram message id, or ``ChannelError``."""
        ...


class EmailSender(Protocol):
    def send(self, to: tuple[str, ...], subject: str, text: str) -> str:
        """Send one plain-text email; the provider's message id, or ``ChannelError``."""
        ...


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class ChannelState:
    """``alerts/{id}.delivery.{channel}``."""

    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    message_id: str | None = None
    sent_to: tuple[str, ...] = ()
    lease_until: datetime | None = None
    retry_not_before: float | None = None  # real epoch seconds: Telegram's retry_after, honoured across deliveries

    def to_doc(self) -> dict[str, object]:
        """The Firestore map."""
        return {
            "status": str(self.status),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "message_id": self.message_id,
            "sent_to": list(self.sent_to),
            "lease_until": self.lease_until.isoformat() if self.lease_until else None,
            "retry_not_before": self.retry_not_before,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, object] | None) -> ChannelState:
        """Parse the Firestore map (absent → pending)."""
        if not doc:
            return cls()
        lease = doc.get("lease_until")
        sent_to = doc.get("sent_to") or []
        message_id = doc.get("message_id")
        not_before = doc.get("retry_not_before")
        return cls(
            status=DeliveryStatus(str(doc.get("status", DeliveryStatus.PENDING))),
            attempts=int(str(doc.get("attempts", 0))),
            last_error=str(doc.get("last_error") or ""),
            message_id=str(message_id) if message_id is not None else None,
            sent_to=tuple(str(x) for x in sent_to) if isinstance(sent_to, list) else (),
            lease_until=datetime.fromisoformat(lease) if isinstance(lease, str) else None,
            retry_not_before=float(not_before) if isinstance(not_before, int | float) else None,
        )


@dataclass(frozen=True)
class Admission:
    """The cooldown's verdict on one alert."""

    collapsed_into: str | None = None  # the alert this one was counted into, or None if it is sent itself
    suppressed_before: int = 0  # duplicates collapsed in the previous cooldown window of the same alert


@dataclass(frozen=True)
class Claimed:
    """A channel delivery this invocation may attempt."""

    state: ChannelState


@dataclass(frozen=True)
class Busy:
    """Another delivery of the same alert holds the channel right now."""

    until: datetime


@dataclass(frozen=True)
class Deferred:
    """The service asked us to wait until ``until`` (real epoch seconds) before trying this channel again."""

    until: float


@dataclass(frozen=True)
class Done:
    """The channel already reached a final state (sent or dead-lettered)."""

    state: ChannelState = field(default_factory=ChannelState)


class AlertRecords(Protocol):
    """``alerts/{alert_id}`` and the cooldown index."""

    def admit(self, alert: Alert, channels: tuple[str, ...], cooldown: timedelta) -> Admission:
        """Store the alert (once) and decide whether it collapses into a recent identical one."""
        ...

    def begin(
        self, alert_id: str, channel: str, now: datetime, lease: timedelta, wall_now: float
    ) -> Claimed | Busy | Done | Deferred:
        """Take the channel for one attempt (counts it), unless done, held by another delivery, or told to wait."""
        ...

    def finish(self, alert_id: str, channel: str, state: ChannelState) -> None:
        """Record the outcome of an attempt."""
        ...

    def store_undeliverable(self, alert: Alert) -> None:
        """Store (without routing) a CRITICAL record about an alert that could not be delivered."""
        ...


class DeadLetters(Protocol):
    def dead_letter(self, alert: Alert) -> None:
        """Send the alert to ``alerts-dead-letter`` (at most once per alert)."""
        ...
