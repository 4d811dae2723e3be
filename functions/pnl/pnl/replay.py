"""``make pnl-replay LEDGER=file``: recompute followers' days, months, commissions and invoices from a ledger file.

Offline (no Firestore, no Pub/Sub): the real rollups (``pnl.daily``, ``pnl.monthly``) run over ``pnl.memory`` on the
schedule production runs them, with every record arriving when it reached the ledger. It is the operator's audit
tool and the seam for money tests. The file format is in ``functions/pnl/README.md``; in short, one JSON object a
line with a ``type``:
    follower     a follower document (``id``, ``commission_pct``; ``iban``, ``ibkr_account`` … optional), in force
                 from its ``at`` (default: from the start): a later one is a change of the follower
    fill         an execution, as ``fills/`` holds it
    settlement   an assignment, exercise or expiry, as ``settlements/`` holds it
    reading      a broker reading, as ``broker_readings/`` holds it
    paid         ``follower_id``, ``month``, ``at``: the operator records the invoice's payment
Any record may carry ``recorded_at``: when it reached the ledger (default: its ``at``). One recorded after its day
was rolled up is a correction: the day is re-run then (as an operator's re-run would), and every later day and
closed month with it.
The schedule: a daily rollup at 16:30 ET of every trading day, the monthly rollup at 00:10 ET on the 1st, from the
first record's day until the last month of the file is closed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pnl.daily import ROLLUP_AT, run_daily
from pnl.memory import MemoryRecords
from pnl.monthly import month_bounds, run_monthly
from pnl.settings import PnLSettings
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.envelopes import Message
from spreadpilot.ledger import BrokerReading, SettlementEvent
from spreadpilot.market_calendar import is_trading_day
from spreadpilot.models import Fill, Follower
from spreadpilot.money import format_money, format_pct

MONTHLY_AT = time(0, 10)
REPLAY_IBAN = "DE89370400440532013000"  # a valid IBAN for followers whose record names none (it is never paid)


class LedgerFileError(ValueError):
    """A line of the ledger file is not a record the replay knows (the message says which line and why)."""


@dataclass(frozen=True)
class Job:
    """A scheduled rollup: the daily one of a day, or the monthly one of a month."""

    at: datetime
    day: date | None = None
    month: str | None = None


@dataclass(frozen=True)
class Arrival:
    """One record, and when it reached the ledger."""

    at: datetime
    kind: str
    item: Any


class CollectingPublisher:
    """The replay's publisher: keeps what the rollups publish (alerts, statement requests) for the report."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        self.sent.append((topic, message))
        return str(len(self.sent))


@dataclass
class Replay:
    """What a replay computed."""

    records: MemoryRecords
    publisher: CollectingPublisher
    corrections: list[tuple[datetime, date]] = field(default_factory=list)


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=NEW_YORK)


def _follower(raw: dict[str, Any]) -> Follower:
    fid = str(raw["id"])
    doc = {"name": f"Follower {fid}", "email": f"{fid}@replay.invalid", "iban": REPLAY_IBAN, "gateway_id": "replay",
           "ibkr_account": raw.get("account") or "DU000000", **raw}
    return Follower.model_validate({k: v for k, v in doc.items() if k in Follower.model_fields})


def parse_ledger(lines: Iterable[str]) -> list[Arrival]:
    """The ledger file's records as arrivals, in the order they reached the ledger."""
    arrivals: list[Arrival] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
            kind = raw.pop("type")
            recorded = raw.pop("recorded_at", None)
            if kind == "follower":
                at = _aware(raw.pop("at")) if "at" in raw else datetime.min.replace(tzinfo=NEW_YORK)
                item: Any = _follower(raw)
            elif kind in ("fill", "settlement"):
                model = Fill if kind == "fill" else SettlementEvent
                if kind == "fill":
                    raw.setdefault("intent_id", raw.get("order_ref", ""))
                else:
                    raw.setdefault("recorded_at", recorded or raw["at"])
                item = model.model_validate(raw)
                at = item.at
            elif kind == "reading":
                item = BrokerReading.model_validate(raw)
                at = item.at
            elif kind == "paid":
                item = (str(raw["follower_id"]), str(raw["month"]))
                at = _aware(raw["at"])
            else:
                raise LedgerFileError(f"line {number}: unknown type {kind!r}")
        except (KeyError, ValueError, ValidationError) as exc:
            if isinstance(exc, LedgerFileError):
                raise
            raise LedgerFileError(f"line {number}: {exc}".replace("\n", " ")) from exc
        arrivals.append(Arrival(_aware(recorded) if recorded else at, kind, item))
    return sorted(arrivals, key=lambda a: a.at)


def _first_day(arrivals: list[Arrival]) -> date:
    days = [new_york(a.item.at).date() for a in arrivals if a.kind in ("fill", "settlement")]
    return min(days) if days else new_york(arrivals[-1].at).date()


def _schedule(first: date, last_month: str) -> list[Job]:
    """Every daily and monthly rollup from ``first`` until ``last_month`` is closed."""
    jobs: list[Job] = []
    end = month_bounds(last_month)[1]
    day = first
    while day <= end:
        if is_trading_day(day):
            jobs.append(Job(datetime.combine(day, ROLLUP_AT, NEW_YORK), day=day))
        if day.day == 1 and day > first:
            jobs.append(Job(datetime.combine(day, MONTHLY_AT, NEW_YORK), month=f"{day - timedelta(days=1):%Y-%m}"))
        day += timedelta(days=1)
    jobs.append(Job(datetime.combine(end + timedelta(days=1), MONTHLY_AT, NEW_YORK), month=last_month))
    return jobs


def replay(arrivals: list[Arrival], settings: PnLSettings | None = None) -> Replay:
    """Run the rollups over the arrivals as production would have run them."""
    settings = settings or PnLSettings(GOOGLE_CLOUD_PROJECT="replay", SPREADPILOT_REQUEST_STATEMENTS="false")
    result = Replay(MemoryRecords(), CollectingPublisher())
    if not arrivals:
        return result
    last_month = max(f"{new_york(a.at):%Y-%m}" for a in arrivals if a.kind != "follower")
    events: list[tuple[datetime, int, Arrival | Job]] = [(a.at, 0, a) for a in arrivals]
    events += [(job.at, 1, job) for job in _schedule(_first_day(arrivals), last_month)]
    rolled: set[date] = set()
    for at, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, Arrival):
            late_day = _arrive(result, event)
            if late_day is not None and late_day in rolled:
                result.corrections.append((at, late_day))
                run_daily(result.records, result.publisher, late_day, at, correction=True, settings=settings)
        elif event.day is not None:
            run_daily(result.records, result.publisher, event.day, at, settings=settings)
            rolled.add(event.day)
        elif event.month is not None:
            run_monthly(result.records, result.publisher, settings, event.month, at)
    return result


def _arrive(result: Replay, arrival: Arrival) -> date | None:
    """Put one record into the records; the day it belongs to when it is ledger money."""
    records, item = result.records, arrival.item
    if arrival.kind == "follower":
        records.follower_docs[item.id] = item
    elif arrival.kind == "fill":
        records.fills = [f for f in records.fills if f.exec_id != item.exec_id] + [item]
        return new_york(item.at).date()
    elif arrival.kind == "settlement":
        records.settlements = [e for e in records.settlements if e.event_id != item.event_id] + [item]
        return new_york(item.at).date()
    elif arrival.kind == "reading":
        records.add_reading(item)
        return item.date if item.phase == "close" else None
    elif arrival.kind == "paid":
        fid, month = item
        records.mark_paid(fid, month)
    return None


def render(result: Replay) -> str:
    """The replay as tables: days, months, invoices."""
    r = result.records
    out = ["Days", f"{'follower':<10} {'date':<10} {'realized':>12} {'commissions':>11} {'open value':>11} "
                   f"{'check':<12}"]
    for d in sorted(r.daily_docs.values(), key=lambda d: (d.follower_id, d.date)):
        out.append(f"{d.follower_id:<10} {d.date.isoformat():<10} {format_money(d.realized_pnl):>12} "
                   f"{format_money(d.commissions):>11} {format_money(d.unrealized_pnl):>11} {d.reconciliation!s:<12}")
    out += ["", "Months", f"{'follower':<10} {'month':<8} {'realized':>12} {'open chg':>10} {'net':>12} "
                          f"{'equity':>12} {'HWM':>12} {'billable':>10} {'rate':>6} {'commission':>11}"]
    for m in sorted(r.monthly_docs.values(), key=lambda m: (m.follower_id, m.month)):
        out.append(f"{m.follower_id:<10} {m.month:<8} {format_money(m.realized_pnl or m.net_pnl):>12} "
                   f"{format_money(m.unrealized_change):>10} {format_money(m.net_pnl):>12} "
                   f"{format_money(m.equity_after or Decimal(0)):>12} {format_money(m.hwm_after):>12} "
                   f"{format_money(m.billable_gain):>10} {format_pct(m.commission_pct):>6} "
                   f"{format_money(m.commission):>11}")
    out += ["", "Invoices", f"{'follower':<10} {'month':<8} {'commission':>11} {'adjustments':>12} {'amount':>10} "
                            f"{'status':<8}"]
    for i in sorted(r.invoices.values(), key=lambda i: (i.follower_id, i.month)):
        adjustments = sum((a.amount for a in i.adjustments), Decimal(0))
        out.append(f"{i.follower_id:<10} {i.month:<8} {format_money(i.commission):>11} "
                   f"{format_money(adjustments):>12} {format_money(i.amount):>10} {i.status!s:<8}")
    if result.corrections:
        out += ["", "Corrections re-run: " + ", ".join(f"{day} at {new_york(at):%Y-%m-%d %H:%M}"
                                                       for at, day in result.corrections)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m pnl.replay LEDGER``."""
    parser = argparse.ArgumentParser(prog="make pnl-replay", description=__doc__.split("\n")[0])
    parser.add_argument("ledger", type=Path, help="ledger file (JSON lines, see functions/pnl/README.md)")
    args = parser.parse_args(argv)
    try:
        arrivals = parse_ledger(args.ledger.read_text(encoding="utf-8").splitlines())
    except (OSError, LedgerFileError) as exc:
        print(f"pnl-replay: {exc}", file=sys.stderr)
        return 2
    print(render(replay(arrivals)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
