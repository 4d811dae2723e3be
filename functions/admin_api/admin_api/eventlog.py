"""The admin API's lines in the ``events`` stream: what an operator did from the web app, and with what outcome."""

from __future__ import annotations

from admin_api.deps import Deps
from admin_api.http import Call
from spreadpilot.events import make_event
from spreadpilot.models import Severity

SOURCE = "admin_api"


def note(deps: Deps, call: Call, kind: str, message: str, *, severity: Severity = Severity.INFO,
         key: str | None = None, signal_id: str | None = None, follower_id: str | None = None,
         command_id: str | None = None, alert_id: str | None = None,
         context: dict[str, str] | None = None) -> None:
    """Record one event by the calling operator at business time."""
    deps.events.record(make_event(kind, source=SOURCE, at=call.now, message=message, severity=severity, key=key,
                                  actor=call.principal.actor, signal_id=signal_id, follower_id=follower_id,
                                  command_id=command_id, alert_id=alert_id, context=context))
