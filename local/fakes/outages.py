"""The fault proxy's outages: how one is armed (``Trigger``) and what happened (``Outage``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["blackhole", "refuse"]
MAX_OUTAGE_S = 300.0
PATIENCE_REQUESTS = 30  # an outage waiting for unanswered requests starts anyway this many requests late


@dataclass
class Outage:
    """One outage as it happened (times are ``time.monotonic()``)."""

    mode: Mode
    planned_s: float
    started_at: float
    requests_before: int
    unanswered: int  # requests the server got whose answers the outage stranded
    reset_connections: int
    ended_at: float | None = None
    held_connections: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the real duration."""
        lasted = None if self.ended_at is None else round(self.ended_at - self.started_at, 2)
        return {"mode": self.mode, "planned_s": self.planned_s, "lasted_s": lasted,
                "requests_before": self.requests_before, "unanswered": self.unanswered,
                "reset_connections": self.reset_connections,
                "held_connections": self.held_connections}


@dataclass(frozen=True)
class Trigger:
    """An armed outage: it starts as a request is sent once ``after`` requests went through and ``unanswered``
    are waiting for their answer (or, at the latest, ``PATIENCE_REQUESTS`` requests later)."""

    after: int
    unanswered: int
    seconds: float
    mode: Mode

    def due(self, requests: int, waiting: int) -> bool:
        """Whether the request about to go out (after ``requests``, with ``waiting`` unanswered) starts it."""
        return requests >= self.after and (waiting >= self.unanswered or requests >= self.after + PATIENCE_REQUESTS)
