"""One Scheduler tick: poll the sheet every few seconds until the day's signal is published, the budget is spent,
or the cutoff passes; publish the signal once; alert once per distinct problem.

Once only: the day is claimed in the ledger (create-if-absent) before the signal is published, and the publish's
message id is recorded after. A claim without a message id (the publish failed or was not confirmed) is published
again on the next tick: a duplicate delivery of the *same* signal is harmless downstream, a second *different*
signal for the day never happens. A row that changes after its signal was published raises a CRITICAL alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from signal_poller import alerts
from signal_poller.ledger import PollLedger, Rejection
from signal_poller.settings import PollerSettings
from signal_poller.sheet_reader import (
    SheetQuotaExceeded,
    SheetReader,
    SheetUnavailable,
    SheetUnreadable,
)
from spreadpilot.clock import Clock, new_york
from spreadpilot.envelopes import AlertMessage, SignalMessage
from spreadpilot.errors import Retryable
from spreadpilot.models import Alert
from spreadpilot.publisher import Publisher
from spreadpilot.resources import ALERTS, SIGNALS
from spreadpilot.sheet_header import find_header, missing_columns
from spreadpilot.signal_days import MANUAL, DayClaim
from spreadpilot.signal_rows import RowOutcome, RowStatus, parse_signal_row

log = logging.getLogger(__name__)

# An unconfirmed claim younger than this is another invocation's publish in progress; older, it was abandoned.
# Real seconds (a publish is network time, up to its 30 s timeout), turned into business time with the clock's speed.
CLAIM_STALE_AFTER_REAL_S = 90.0


class TickResult(BaseModel):
    """What one tick did (logged, and returned by the HTTP form)."""

    model_config = ConfigDict(frozen=True)

    status: str  # market_closed | too_early | waiting | rejected | published | no_trade | sheet_unreadable
    day: date
    polls: int = 0
    signal_id: str | None = None
    message_id: str | None = None
    detail: str = ""


@dataclass
class _Read:
    """One read of the sheet, parsed."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    wait_s: float | None = None  # how long to wait before the next read (None = the poll interval)
    stop: bool = False  # nothing more this tick can do
    complete: bool = False  # the sheet was read and its header found: ``outcomes`` is every row

    def todays(self, today: date) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.day == today and o.status is not RowStatus.OTHER_DAY]

    def first_valid(self) -> RowOutcome | None:
        return next((o for o in self.outcomes if o.status is RowStatus.VALID), None)


@dataclass
class Poller:
    """The poll loop of one tick, with every dependency injected (time only through ``clock``)."""

    settings: PollerSettings
    reader: SheetReader
    ledger: PollLedger
    publisher: Publisher
    clock: Clock
    is_trading_day: Callable[[date], bool]
    polls: int = 0
    quota_errors: int = 0
    seen_rejections: set[str] = field(default_factory=set)
    seen_alerts: set[str] = field(default_factory=set)

    def run(self) -> TickResult:
        """Poll until found, budget spent or cutoff; never raises for bad sheet content (Retryable on I/O)."""
        started = self.clock.now()
        today = new_york(started).date()
        if not self.is_trading_day(today):
            log.info("no polling: market closed", extra={"date": today.isoformat()})
            return TickResult(status="market_closed", day=today)
        if new_york(started).time() < self.settings.poll_start:
            return TickResult(status="too_early", day=today)
        claim = self.ledger.day_claim(today)
        if claim is not None:
            return self._after_publish(today, claim)
        result = self._poll_loop(today, started + timedelta(seconds=self.settings.invocation_budget_s))
        self.ledger.record_poll(today, self.clock.now(), self.polls, result.status)
        log.info("tick done", extra=result.model_dump(mode="json"))
        return result

    # ── before the day's signal ────────────────────────────────────────────────────────────────────────────────

    def _poll_loop(self, today: date, deadline: datetime) -> TickResult:
        status = "waiting"
        while True:
            now = self.clock.now()
            if new_york(now).time() >= self.settings.cutoff:
                return self._at_cutoff(today, now)
            read = self._read(today, now)
            self._record_rejections(today, read, now)
            found = read.first_valid()
            if found is not None and found.signal is not None:
                return self._claim_and_publish(today, found, read)
            if read.stop:
                return TickResult(status="sheet_unreadable", day=today, polls=self.polls)
            todays = read.todays(today)
            status = "rejected" if todays and all(o.status is RowStatus.REJECTED for o in todays) else "waiting"
            if read.wait_s is None and new_york(now).time() >= self.settings.alert_if_none_at:
                self._alert(today, alerts.none_yet(today, f"{self.settings.alert_if_none_at:%H:%M}", now))
            wait = read.wait_s if read.wait_s is not None else self.settings.poll_interval_s
            if self.clock.now() + timedelta(seconds=wait) >= deadline:
                return TickResult(status=status, day=today, polls=self.polls)
            self.clock.sleep_sync(wait)

    def _read(self, today: date, now: datetime) -> _Read:
        self.polls += 1
        try:
            rows = self.reader.read_rows()
        except SheetQuotaExceeded as exc:
            self.quota_errors += 1
            log.warning("sheet read quota exceeded", extra={"count": self.quota_errors, "error": str(exc)})
            if self.quota_errors >= self.settings.quota_alert_after:
                self._alert(today, alerts.quota_persists(today, self.quota_errors, now))
            backoff = self.settings.quota_backoff_s * 2 ** (self.quota_errors - 1)
            return _Read(wait_s=min(backoff, self.settings.quota_backoff_max_s))
        except SheetUnavailable as exc:
            log.warning("sheet read failed, retrying at the next poll", extra={"error": str(exc)})
            return _Read()
        except SheetUnreadable as exc:
            log.error("sheet unreadable", extra={"error": str(exc)})
            self._alert(today, alerts.sheet_unreadable(today, str(exc), now))
            return _Read(stop=True)
        self.quota_errors = 0
        header = find_header(rows, self.settings.header_search_rows)
        if header is None:
            missing = missing_columns(rows, self.settings.header_search_rows)
            log.warning("no header row in the sheet", extra={"missing": list(missing)})
            self._alert(today, alerts.header_missing(today, missing, now))
            return _Read()
        outcomes = [
            parse_signal_row(
                row, header, today, row_number=index + 1, detected_at=now, tickers=self.settings.tickers
            )
            for index, row in enumerate(rows)
            if index + 1 > header.row_number
        ]
        return _Read(outcomes=outcomes, complete=True)

    def _record_rejections(self, today: date, read: _Read, now: datetime) -> None:
        for outcome in read.outcomes:
            # A row whose date can't be read (day None) might be today's: it is reported too.
            if outcome.status is RowStatus.REJECTED and outcome.day in (today, None):
                self._reject(today, outcome, now)

    def _reject(self, today: date, outcome: RowOutcome, now: datetime) -> None:
        """Store a rejected row and alert once per distinct row content and reason."""
        key = alerts.fingerprint(outcome.cells, outcome.reason)
        if key in self.seen_rejections:
            return
        self.seen_rejections.add(key)
        rejection = Rejection(
            key=key, date=today, row_number=outcome.row_number, column=outcome.column, value=outcome.value,
            reason=outcome.reason, row=outcome.cells,
        )
        if self.ledger.record_rejection(rejection, now):
            log.warning("signal row rejected", extra={"reason": outcome.reason, "row_number": outcome.row_number})
        self._alert(today, alerts.row_rejected(today, key, outcome.reason, outcome.row_number, now))

    def _claim_and_publish(self, today: date, found: RowOutcome, read: _Read) -> TickResult:
        assert found.signal is not None  # first_valid only returns outcomes with a signal
        now = self.clock.now()
        claim = DayClaim(signal=found.signal, row_number=found.row_number, row=found.cells, claimed_at=now)
        ours = self.ledger.claim_day(claim, now)
        if ours:
            log.info("signal claimed", extra={"signal_id": claim.signal.signal_id, "row_number": claim.row_number})
        else:
            # Another invocation claimed the day between our check and now: follow its claim.
            existing = self.ledger.day_claim(today)
            claim = existing if existing is not None else claim
        message_id = self._ensure_published(claim, ours=ours)
        self._check_edits(today, claim, read, now)
        return TickResult(
            status="published", day=today, polls=self.polls, signal_id=claim.signal.signal_id, message_id=message_id
        )

    def _ensure_published(self, claim: DayClaim, *, ours: bool = False) -> str | None:
        """Publish the claimed signal unless confirmed or still being published by another invocation.

        A failed publish is recorded and raised as Retryable (the tick is retried and publishes at once).
        """
        if claim.message_id:
            return str(claim.message_id)
        stale_after = timedelta(seconds=CLAIM_STALE_AFTER_REAL_S * self.clock.speed)
        if not ours and not claim.needs_publish(self.clock.now(), stale_after):
            log.info("signal claim being published by another invocation", extra={"signal_id": claim.signal.signal_id})
            return None
        try:
            message_id = str(self.publisher.publish(SIGNALS, SignalMessage(signal=claim.signal)))
        except Retryable:
            self.ledger.record_publish_failed(claim)
            raise
        self.ledger.record_published(claim, message_id, self.clock.now())
        log.info("signal published", extra={"signal_id": claim.signal.signal_id, "message_id": message_id})
        return message_id

    # ── after the day's signal ─────────────────────────────────────────────────────────────────────────────────

    def _after_publish(self, today: date, claim: DayClaim) -> TickResult:
        message_id = self._ensure_published(claim)
        now = self.clock.now()
        if new_york(now).time() < self.settings.cutoff:
            read = self._read(today, now)
            if read.complete:
                self._check_edits(today, claim, read, now)
        self.ledger.record_poll(today, self.clock.now(), self.polls, "published")
        return TickResult(
            status="published", day=today, polls=self.polls, signal_id=claim.signal.signal_id, message_id=message_id,
        )

    def _check_edits(self, today: date, claim: DayClaim, read: _Read, now: datetime) -> None:
        """CRITICAL alert (once per distinct sheet state) if today's rows no longer match the published signal."""
        signal_id = claim.signal.signal_id
        todays = read.todays(today)
        unchanged = any(o.signal is not None and o.signal.signal_id == signal_id for o in todays)
        others = [
            o for o in todays
            if o.status is not RowStatus.INCOMPLETE and not (o.signal is not None and o.signal.signal_id == signal_id)
        ]
        manual = claim.source == MANUAL
        if (unchanged or (manual and not todays)) and not others:
            return  # as published, or entered by hand while the sheet has nothing for today
        if manual:
            parts = [] if unchanged else [f"Today's signal {signal_id} was {claim.origin}; the sheet's rows for today "
                                          "are not traded."]
        else:
            parts = [] if unchanged else [f"The published row {claim.row_number} ({_cells(claim.row)}) is no longer "
                                          "in the sheet as published."]
        parts += [f"Row {o.row_number} now reads {_cells(o.cells)}." for o in others]
        state = alerts.fingerprint(unchanged, sorted(str(sorted(o.cells.items(), key=str)) for o in others),
                                   [o.row_number for o in others])
        log.critical("signal row edited after publish", extra={"signal_id": signal_id, "detail": " ".join(parts)})
        self._alert(today, alerts.row_edited(today, signal_id, " ".join(parts), state, now))

    # ── the cutoff ─────────────────────────────────────────────────────────────────────────────────────────────

    def _at_cutoff(self, today: date, now: datetime) -> TickResult:
        claim = self.ledger.day_claim(today)
        if claim is not None:  # a concurrent invocation published the day's signal while this one polled
            return TickResult(status="published", day=today, polls=self.polls, signal_id=claim.signal.signal_id,
                              message_id=claim.message_id)
        read = self._read(today, now)
        reasons: list[str] = []
        for outcome in read.todays(today):
            if outcome.status is RowStatus.INCOMPLETE:
                column = outcome.missing[0] if outcome.missing else ""
                reason = (f'row {outcome.row_number}, column "{column}", value "": still empty at the '
                          f"{self.settings.cutoff:%H:%M} cutoff (missing: {', '.join(outcome.missing)})")
                self._reject(today, outcome.model_copy(update={"status": RowStatus.REJECTED, "column": column,
                                                                "reason": reason}), now)
                reasons.append(reason)
            elif outcome.status is RowStatus.REJECTED:
                reasons.append(outcome.reason)
            elif outcome.status is RowStatus.VALID:
                reasons.append(f"row {outcome.row_number} was complete only after the cutoff")
        self._record_rejections(today, read, now)
        if not read.complete:
            reasons.append("the sheet could not be read at the cutoff")
        detail = "; ".join(reasons)[:1000] or "No row for today."
        self._alert(today, alerts.no_trade(today, f"{self.settings.cutoff:%H:%M}", detail, now))
        return TickResult(status="no_trade", day=today, polls=self.polls, detail=detail)

    def _alert(self, today: date, alert: Alert) -> None:
        """Publish ``alert`` unless its id was claimed before; a failed publish releases the claim and raises."""
        if alert.alert_id in self.seen_alerts:
            return  # this invocation claimed (or found claimed) it already: spare Firestore a write per poll
        if not self.ledger.claim_alert(alert.alert_id, self.clock.now()):
            self.seen_alerts.add(alert.alert_id)
            return
        try:
            message_id = self.publisher.publish(ALERTS, AlertMessage(alert=alert))
        except Retryable:
            self.ledger.release_alert(alert.alert_id)
            raise
        self.seen_alerts.add(alert.alert_id)
        self.ledger.record_alert_sent(today, alert.alert_id, message_id)
        log.warning("alert published", extra={"alert_id": alert.alert_id, "alert_severity": str(alert.severity)})


def _cells(cells: Mapping[str, object]) -> str:
    return ", ".join(f"{name}={value!s}" for name, value in cells.items() if value not in (None, ""))[:300]
