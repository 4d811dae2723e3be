"""The Scheduler tick that starts a rollup, parsed at the edge.

Payload (JSON, optional): ``{"job": "pnl-daily"|"pnl-monthly", "date"?: "YYYY-MM-DD", "month"?: "YYYY-MM",
"scheduled_at"?: ISO datetime}``.
Without ``job`` the topic it came from decides (``tick-pnl-daily`` / ``tick-pnl-monthly``, read from the CloudEvent
source). An explicit ``date``/``month`` re-runs that day or month (an operator's correction, which re-runs every
later day and closed month of the followers it changed); without one the
daily job rolls up today (New York; the day of ``scheduled_at`` when given) and the monthly job closes the month
before that day.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationError

from pnl.breaker import trip_on_losing_runs
from pnl.daily import DailyRun, run_daily
from pnl.monthly import MonthlyRun, previous_month, run_monthly
from pnl.records import PnLRecords
from pnl.settings import PnLSettings
from spreadpilot.clock import new_york
from spreadpilot.errors import Rejected
from spreadpilot.market_calendar import is_trading_day
from spreadpilot.models import AwareDatetime, Frozen
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)


class Job(StrEnum):
    DAILY = "pnl-daily"
    MONTHLY = "pnl-monthly"


TOPIC_JOBS = {"tick-pnl-daily": Job.DAILY, "tick-pnl-monthly": Job.MONTHLY}


class Tick(Frozen):
    """What to roll up. Other fields a scheduler adds are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job: Job
    date: dt.date | None = None
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    scheduled_at: AwareDatetime | None = None

    def as_of(self, now: dt.datetime) -> dt.date:
        """The New York day the tick stands for: when it was scheduled (a late delivery keeps its day), or now."""
        return new_york(self.scheduled_at or now).date()


def parse_tick(source: str, data: object) -> Tick:
    """The tick from a CloudEvent's ``source`` and ``data`` (a Pub/Sub push body); malformed → ``Rejected``."""
    payload: dict[str, object] = {}
    message = data.get("message") if isinstance(data, dict) else None
    raw = message.get("data") if isinstance(message, dict) else None
    if raw:
        try:
            decoded = json.loads(base64.b64decode(str(raw), validate=True) or b"{}")
        except (binascii.Error, ValueError) as exc:
            raise Rejected(f"tick payload is not base64 JSON ({exc})", where="tick") from exc
        if not isinstance(decoded, dict):
            raise Rejected("tick payload must be a JSON object", where="tick")
        payload = decoded
    if "job" not in payload:
        topic = source.rstrip("/").rsplit("/", 1)[-1]
        if topic not in TOPIC_JOBS:
            raise Rejected(f"no 'job' in the payload and {source!r} is not a P&L tick topic", where="tick")
        payload["job"] = TOPIC_JOBS[topic]
    try:
        return Tick.model_validate(payload)
    except ValidationError as exc:
        raise Rejected(str(exc).replace("\n", " "), where="tick") from exc


def run_tick(
    tick: Tick, records: PnLRecords, publisher: Publisher, settings: PnLSettings, now: dt.datetime
) -> DailyRun | MonthlyRun | None:
    """Run the job the tick names; a scheduled daily tick on a market holiday does nothing."""
    today = tick.as_of(now)
    if tick.job is Job.DAILY:
        day = tick.date or today
        if tick.date is None and not is_trading_day(day):
            log.info("no daily rollup: the market is closed", extra={"date": day.isoformat()})
            return None
        # An explicit date is an operator's correction: every later day and closed month follows it.
        run = run_daily(records, publisher, day, now, correction=tick.date is not None, settings=settings)
        if tick.date is None:  # the day just closed (a correction of an old day pauses nobody today)
            today = records.daily(day, [*run.written, *run.unchanged]).values()
            trip_on_losing_runs(records, publisher, day, today, settings.consecutive_loss_limit, now)
        return run
    month = tick.month or (f"{tick.date:%Y-%m}" if tick.date else previous_month(today))
    correction = tick.month is not None or tick.date is not None
    return run_monthly(records, publisher, settings, month, now, correction=correction)
