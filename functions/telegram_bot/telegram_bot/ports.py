"""What the operator bot reads and writes, as small Protocols (Firestore adapter in ``firestore_store``).

Pending confirmations are ``spreadpilot.confirmations.PendingConfirmation``: the schema the admin API and the
executor share, so a code issued by the web app reads the same here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.models import Command, DailyPnL, OrderIntent, PnLSnapshot, Position, Signal
from spreadpilot.telegram import Buttons

__all__ = ["BotStore", "FollowerBrief", "GatewayStatus", "Heartbeat", "OpenAlert", "PendingConfirmation", "Replier"]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class GatewayStatus(_Doc):
    connected: bool
    since: AwareDatetime | None = None


class Heartbeat(_Doc):
    """``heartbeats/executor`` as the executor writes it."""

    at: AwareDatetime
    gateways: dict[str, GatewayStatus] = {}


class OpenAlert(_Doc):
    """An ``alerts/{id}`` document as the bot lists it."""

    alert_id: str
    type: str
    severity: str
    message: str
    at: AwareDatetime
    follower_id: str | None = None
    count: int = 1
    acknowledged_by: str | None = None
    collapsed_into: str | None = None


class FollowerBrief(_Doc):
    """What ``/follower`` shows of a follower: the operational fields only (no e-mail, no IBAN)."""

    id: str
    enabled: bool = True
    state: str = "active"
    gateway_id: str | None = None
    ibkr_account: str = ""
    multiplier: Decimal = Decimal(1)
    max_contracts: int = 0
    daily_loss_limit: Decimal = Decimal(0)


class Replier(Protocol):
    def send_message(self, chat_id: str, text: str, buttons: Buttons | None = None) -> str:
        """Send ``text`` to ``chat_id`` (with a row of inline buttons: label, callback data); the message id."""
        ...

    def edit_message(self, chat_id: str, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Replace one of our messages' text and buttons."""
        ...

    def answer_callback(self, callback_id: str, text: str = "") -> None:
        """Answer a button press."""
        ...


class BotStore(Protocol):
    def heartbeat(self) -> Heartbeat | None:
        """The executor's last heartbeat."""
        ...

    def signals_on(self, day: date) -> list[Signal]:
        """Signals of one New York trading day."""
        ...

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        """Order intents of one signal."""
        ...

    def open_positions(self) -> list[Position]:
        """Positions with at least one non-zero leg."""
        ...

    def latest_pnl(self, follower_id: str | None, since: datetime) -> list[PnLSnapshot]:
        """The newest snapshot since ``since`` of one follower, or of every follower."""
        ...

    def daily_pnl(self, day: date, follower_id: str | None) -> list[DailyPnL]:
        """Daily P&L of ``day`` (one follower or all)."""
        ...

    def record_command(self, command: Command) -> bool:
        """Store the command; False if it is stored and published already (a redelivered update)."""
        ...

    def mark_published(self, command_id: str, message_id: str) -> None:
        """Remember that the command reached Pub/Sub."""
        ...

    def follower_ids(self) -> set[str]:
        """The id of every follower (an unknown id is refused before anything is published)."""
        ...

    def save_confirmation(self, pending: PendingConfirmation) -> None:
        """Store a pending flatten confirmation (a redelivered /flatten keeps the first one)."""
        ...

    def get_confirmation(self, code: str) -> PendingConfirmation | None:
        """The pending confirmation of ``code`` whoever issued it (``MalformedConfirmation`` if it does not parse)."""
        ...

    def use_confirmation(self, code: str, command_id: str, by: str, at: datetime) -> bool:
        """Spend ``code`` on ``command_id``; False if another command (here or in the web app) spent it already."""
        ...

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> bool:
        """Mark an alert acknowledged; False if there is no such alert."""
        ...

    def open_alerts(self, limit: int) -> list[OpenAlert]:
        """The newest ``limit`` alerts nobody acknowledged (collapsed repeats left out), newest first."""
        ...

    def follower(self, follower_id: str) -> FollowerBrief | None:
        """One follower's operational fields."""
        ...

    def entries_paused(self, follower_id: str) -> str | None:
        """Why the follower's entries are paused (the global kill switch or its own), or None."""
        ...

    def audit(self, action: str, actor: str, at: datetime, **details: object) -> None:
        """Append an audit record."""
        ...
