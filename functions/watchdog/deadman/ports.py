"""What the watchdog reads and how it raises alerts, as small Protocols."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from spreadpilot.models import Alert, OrderIntent, Signal


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class GatewayStatus(_Doc):
    connected: bool
    since: AwareDatetime | None = None


class Heartbeat(_Doc):
    """``heartbeats/executor`` as the executor writes it."""

    at: AwareDatetime
    gateways: dict[str, GatewayStatus] = {}


class WatchdogReader(Protocol):
    def heartbeat(self) -> Heartbeat | None:
        """The executor's last heartbeat."""
        ...

    def signals_on(self, day: date) -> list[Signal]:
        """Signals of one New York trading day."""
        ...

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        """Order intents of one signal."""
        ...


class TickLog(Protocol):
    def record_tick(self, at: datetime, raised: list[str]) -> None:
        """Remember the watchdog's last tick (who watches the watchdog: the web app shows it)."""
        ...


class AlertOutbox(Protocol):
    def raise_once(self, alert: Alert) -> bool:
        """Publish ``alert`` to ``alerts`` unless an earlier tick did; True if published now."""
        ...
