"""The poller's alerts, each with a deterministic id so that one problem raises one alert, however many polls see it."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from spreadpilot.models import Alert, Severity

SOURCE = "signal_poller"


def fingerprint(*parts: object) -> str:
    """A short stable hash of ``parts`` (JSON, sorted keys), for ids of distinct problems."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _alert(day: date, kind: str, severity: Severity, message: str, at: datetime, **extra: object) -> Alert:
    key = extra.pop("key", "")
    alert_id = f"{SOURCE}:{day.isoformat()}:{kind}" + (f":{key}" if key else "")
    context = {"date": day.isoformat(), **{k: str(v) for k, v in extra.items() if k != "signal_id"}}
    signal_id = extra.get("signal_id")
    return Alert(
        alert_id=alert_id,
        type=f"signal.{kind}",
        severity=severity,
        message=message[:4000],
        at=at,
        source=SOURCE,
        signal_id=str(signal_id) if signal_id else None,
        context=context,
    )


def row_rejected(day: date, rejection_key: str, reason: str, row_number: int, at: datetime) -> Alert:
    """WARNING: today's row can't trade as written (one alert per distinct row content and reason)."""
    return _alert(
        day, "row_rejected", Severity.WARNING, f"Signal row rejected, it will not trade: {reason}", at,
        key=rejection_key, row_number=row_number,
    )


def header_missing(day: date, missing: tuple[str, ...], at: datetime) -> Alert:
    """WARNING: the sheet has no recognisable header, so no row can be read."""
    columns = ", ".join(missing) or "?"
    return _alert(
        day, "header_missing", Severity.WARNING,
        f"The signal sheet has no header row with the columns Data, Ticker, Strategia, Quantità per Leg "
        f"(missing: {columns}) in its first rows; no signal can be read until it is fixed.", at,
        key=fingerprint(missing),
    )


def none_yet(day: date, by: str, at: datetime) -> Alert:
    """WARNING: no valid row by the alert time (09:35 ET by default)."""
    return _alert(day, "none_yet", Severity.WARNING, f"No valid signal row for {day} by {by} ET.", at)


def no_trade(day: date, cutoff: str, detail: str, at: datetime) -> Alert:
    """WARNING: the cutoff passed without a valid row: no trade today."""
    message = f"No trade today ({day}): no valid signal by {cutoff} ET. {detail}"
    return _alert(day, "no_trade", Severity.WARNING, message, at)


def quota_persists(day: date, count: int, at: datetime) -> Alert:
    """WARNING: the Sheets API keeps answering 429 (read quota exceeded)."""
    return _alert(
        day, "sheet_quota", Severity.WARNING,
        f"Google Sheets read quota exceeded {count} times in a row; polling is backing off.", at, count=count,
    )


def sheet_unreadable(day: date, reason: str, at: datetime) -> Alert:
    """CRITICAL: the sheet can't be read at all (not found, no permission, no such tab)."""
    return _alert(
        day, "sheet_unreadable", Severity.CRITICAL, f"The signal sheet cannot be read: {reason}", at,
        key=fingerprint(reason),
    )


def row_edited(day: date, signal_id: str, detail: str, state_key: str, at: datetime) -> Alert:
    """CRITICAL: today's row changed after its signal was published; it will not be traded again."""
    return _alert(
        day, "row_edited", Severity.CRITICAL,
        f"Today's signal row changed after signal {signal_id} was published; the change is NOT traded. {detail}",
        at, key=state_key, signal_id=signal_id,
    )
