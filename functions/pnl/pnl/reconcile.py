"""The daily reconciliation: does the day from the ledger agree with what the broker reported, to the cent?

Against the executor's broker readings of the day (``spreadpilot.ledger.BrokerReading``):
- ``close``: the broker's realized P&L of the day (reqPnL, commissions included) must equal the ledger's, and the
  positions the broker holds after the close must be the lots the ledger leaves open;
- ``open`` (taken before the session opens, after any overnight settlement): the positions must be the lots the
  ledger carried into the day.
Independently of the broker, an option lot still open after its expiry day means a settlement event is missing.
Any difference makes the day ``unreconciled`` (the note says what differs); without any reading the day is
``unchecked``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pnl.lots import OpenLot
from spreadpilot.ledger import BrokerReading, HeldLine, position_key
from spreadpilot.models import Reconciliation
from spreadpilot.money import format_money, to_cents


@dataclass(frozen=True)
class Check:
    """The outcome of one day's reconciliation."""

    state: Reconciliation
    broker_realized: Decimal | None = None
    note: str = ""


def lot_positions(lots: Iterable[OpenLot]) -> dict[str, int]:
    """Net quantity per position of some lots (non-zero only)."""
    held: dict[str, int] = defaultdict(int)
    for lot in lots:
        held[lot.key] += lot.qty
    return {key: qty for key, qty in held.items() if qty}


def broker_positions(lines: Iterable[HeldLine]) -> dict[str, int]:
    """Net quantity per position the broker reported (non-zero only)."""
    held: dict[str, int] = defaultdict(int)
    for line in lines:
        held[position_key(line.sec_type, line.symbol, line.con_id)] += line.qty
    return {key: qty for key, qty in held.items() if qty}


def position_differences(ledger: dict[str, int], broker: dict[str, int]) -> list[str]:
    """``key ledger N, broker M`` for every position the two disagree on."""
    return [f"{key} ledger {ledger.get(key, 0)}, broker {broker.get(key, 0)}"
            for key in sorted(set(ledger) | set(broker)) if ledger.get(key, 0) != broker.get(key, 0)]


def check_day(net: Decimal, carried: Iterable[OpenLot], closing_lots: Iterable[OpenLot],
              expired_open: Iterable[OpenLot], readings: dict[str, BrokerReading]) -> Check:
    """Compare one follower's day with the broker's readings of it."""
    problems: list[str] = []
    expired = list(expired_open)
    if expired:
        problems.append("expired without a settlement event: " + ", ".join(
            f"{lot.key} {lot.right or ''}{lot.strike or ''} x{lot.qty}" for lot in expired))
    close, opening = readings.get("close"), readings.get("open")
    broker_realized = to_cents(close.realized_pnl) if close and close.realized_pnl is not None else None
    if broker_realized is not None and broker_realized != net:
        problems.append(f"realized: ledger {format_money(net)}, broker {format_money(broker_realized)}")
    if close is not None:
        differences = position_differences(lot_positions(closing_lots), broker_positions(close.positions))
        if differences:
            problems.append("positions after the close: " + "; ".join(differences))
    if opening is not None:
        differences = position_differences(lot_positions(carried), broker_positions(opening.positions))
        if differences:
            problems.append("positions at the open: " + "; ".join(differences))
    if problems:
        return Check(Reconciliation.UNRECONCILED, broker_realized, " | ".join(problems))
    if close is None and opening is None:
        return Check(Reconciliation.UNCHECKED, None, "no broker reading")
    return Check(Reconciliation.RECONCILED, broker_realized, "")
