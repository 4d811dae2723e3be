"""The day's signal entered by hand when the sheet is down: the sheet's rules, the day's one claim, and a code.

``POST /signals/manual`` reads the entry as the poller reads a sheet row for today, New York time
(``spreadpilot.signal_rows``: the same columns, rules and messages; a problem is a 400 naming the field). It refuses
with a 409 a day the market is closed, a time after the cutoff, and a day already claimed (by the sheet or an earlier
entry: the 409 names its signal). Otherwise it issues a confirmation code as every dangerous action does
(``admin_api.dangerous``; kind ``manual_signal``, scope the date, the entry in ``details``) and nothing is traded yet.

``POST /actions/confirm`` with the code, by the same admin before it expires, reads the entry again (the cutoff may
have passed meanwhile), claims the day (``spreadpilot.signal_days``: create-if-absent, ``source`` manual, so neither
a second entry nor the sheet's row can add a second signal), publishes the signal to ``signals`` and records the
message id. A publish that fails leaves the claim marked failed, and the signal poller's next tick publishes it as
it does its own. The timeline, the events stream and the audit log say the signal was entered by hand, and by whom.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from admin_api import dangerous
from admin_api.deps import Deps, Route
from admin_api.eventlog import note
from admin_api.http import ApiError, ApiResponse, Call
from spreadpilot.clock import new_york
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.envelopes import SignalMessage
from spreadpilot.errors import Retryable
from spreadpilot.market_calendar import is_trading_day
from spreadpilot.models import Signal
from spreadpilot.resources import SIGNALS
from spreadpilot.sheet_header import Column, Header
from spreadpilot.signal_days import MANUAL, DayClaim, SignalDays
from spreadpilot.signal_rows import RowStatus, parse_signal_row

log = logging.getLogger("admin_api.manual_signal")
MANUAL_SIGNAL = "manual_signal"
FIELDS = {Column.TICKER: "ticker", Column.STRATEGY: "strategy", Column.QTY: "qty_per_leg",
          Column.SELL_PUT: "sell_put", Column.BUY_PUT: "buy_put", Column.SELL_CALL: "sell_call",
          Column.BUY_CALL: "buy_call"}
HEADER = Header(row_number=1, positions={Column.DATE: 0, **{c: i + 1 for i, c in enumerate(FIELDS)}})
Value = int | float | str | None


class ManualSignal(BaseModel):
    """The day's signal as the strategist would have written it in the sheet."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ticker: Value = None
    strategy: Value = Field(default=None, description="Long (bull put) or Short (bear call), as in the sheet")
    qty_per_leg: Value = None
    sell_put: Value = None
    buy_put: Value = None
    sell_call: Value = None
    buy_call: Value = None
    reason: str = Field(default="", max_length=1000, description="why the signal is entered by hand (audited)")

    def row(self, day: date) -> list[Value]:
        """The sheet row this entry stands for."""
        return [day.isoformat(), *(getattr(self, name) for name in FIELDS.values())]

    def details(self) -> dict[str, str]:
        """The entry as the pending confirmation keeps it (read back through ``ManualSignal`` on confirm)."""
        return {name: str(value) for name in FIELDS.values() if (value := getattr(self, name)) is not None}


def _signal(deps: Deps, entry: ManualSignal, at: datetime) -> Signal:
    """Today's signal from ``entry``, read as the sheet's row would be; ApiError naming what is wrong."""
    local = new_york(at)
    today = local.date()
    outcome = parse_signal_row(entry.row(today), HEADER, today, row_number=1, detected_at=at,
                               tickers=deps.settings.tickers)
    if outcome.status is RowStatus.INCOMPLETE:
        missing = ", ".join(FIELDS[Column(c)] for c in outcome.missing)
        raise ApiError(400, f"the signal is incomplete: {missing} missing", where="body")
    if outcome.status is not RowStatus.VALID or outcome.signal is None:
        field = FIELDS.get(Column(outcome.column)) if outcome.column else None
        raise ApiError(400, outcome.reason.removeprefix("row 1, "), where=f"body.{field}" if field else "body")
    if not is_trading_day(today):
        raise ApiError(409, f"the market is closed on {today}: no signal can be entered")
    if local.time() >= deps.settings.cutoff:
        raise ApiError(409, f"it is past the cutoff ({deps.settings.cutoff:%H:%M} New York): no new signal today")
    return outcome.signal.model_copy(update={"source_row": None})


def _unclaimed(days: SignalDays, day: date) -> None:
    claim = days.day_claim(day)
    if claim is not None:
        raise ApiError(409, f"today's signal is already {claim.signal.signal_id} ({claim.origin}); a day has one "
                       "signal")


def request(deps: Deps, call: Call) -> object:
    """Check the entry and the day, then issue the code that confirms it."""
    entry = call.body(ManualSignal)
    signal = _signal(deps, entry, call.now)
    _unclaimed(SignalDays(deps.store.db, "admin_api"), signal.date)
    return dangerous.request(deps, call, MANUAL_SIGNAL, signal.date.isoformat(), entry.reason or "entered by hand",
                             details=entry.details(), answer={"signal_id": signal.signal_id})


def enter(deps: Deps, call: Call, pending: PendingConfirmation) -> ApiResponse:
    """The confirmed entry: claim the day, publish the signal, record it (the code is spent already)."""
    entry = ManualSignal.model_validate({**pending.details, "reason": pending.reason})
    signal = _signal(deps, entry, call.now)
    if signal.date.isoformat() != pending.scope:
        raise ApiError(409, f"the code was issued for {pending.scope}; enter today's signal again")
    days = SignalDays(deps.store.db, "admin_api")
    claim = DayClaim(signal=signal, row_number=0, row={c.value: v for c, v in zip(HEADER.positions, entry.row(
        signal.date), strict=True)}, claimed_at=call.now, source=MANUAL, entered_by=call.principal.actor)
    if not days.claim_day(claim, call.now):
        _unclaimed(days, signal.date)  # claimed meanwhile: say by what
        raise ApiError(409, "today's signal was claimed meanwhile")
    try:
        message_id = str(deps.publisher.publish(SIGNALS, SignalMessage(signal=signal)))
    except Retryable as exc:
        days.record_publish_failed(claim)
        log.error("manual signal not published", extra={"signal_id": signal.signal_id, "error": str(exc)})
        raise ApiError(503, f"{signal.signal_id} is today's signal, but publishing it failed ({exc}); the signal "
                       "poller publishes it on its next tick") from exc
    days.record_published(claim, message_id, call.now)
    deps.store.audit("signal.manual", actor=call.principal.actor, source="web", at=call.now.isoformat(),
                     signal_id=signal.signal_id, message_id=message_id, reason=pending.reason)
    note(deps, call, "signal.manual", f"{signal.signal_id} entered by hand by {call.principal.actor}: "
         f"{pending.reason}", signal_id=signal.signal_id, context={"message_id": message_id})
    log.info("manual signal published", extra={"signal_id": signal.signal_id, "actor": call.principal.actor})
    return ApiResponse(201, {"signal_id": signal.signal_id, "message_id": message_id, "source": MANUAL})


ROUTES = [
    Route("POST", "/signals/manual", request, "Enter today's signal by hand (the sheet's rules and one-signal-a-day "
          "claim); answers a confirmation code for /actions/confirm", changes=True, body="ManualSignal"),
]
