"""Each account's realized P&L per New York day, from the simulators' journals alone (the broker-side truth).

Independent of ``functions/pnl`` on purpose: average cost per position in exact fractions (a broker's method; the
rollups use FIFO lots, which agree whenever a position closes whole), executions at their price with their
commission, assignments, exercises and expiries as IBKR books them (the option out at no price, the stock in at the
strike), the day's net rounded half up to cents once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
MULTIPLIER = {"OPT": 100, "STK": 1}
SETTLEMENTS = ("assignment", "exercise", "expiry")


@dataclass
class Position:
    qty: int = 0
    avg: Fraction = Fraction(0)  # per unit of price


@dataclass
class Account:
    positions: dict[str, Position] = field(default_factory=lambda: defaultdict(Position))
    realized: dict[date, Fraction] = field(default_factory=lambda: defaultdict(Fraction))

    def trade(self, day: date, key: str, qty: int, price: Fraction, mult: int, commission: Fraction) -> None:
        pos = self.positions[key]
        self.realized[day] -= commission
        if pos.qty == 0 or (pos.qty > 0) == (qty > 0):
            pos.avg = (pos.avg * abs(pos.qty) + price * abs(qty)) / (abs(pos.qty) + abs(qty))
            pos.qty += qty
            return
        closed = min(abs(qty), abs(pos.qty))
        direction = 1 if pos.qty > 0 else -1
        self.realized[day] += (price - pos.avg) * closed * mult * direction
        pos.qty += qty
        if pos.qty == 0:
            pos.avg = Fraction(0)
        elif (pos.qty > 0) != (direction > 0):
            pos.avg = price


def read(paths: list[Path]) -> list[dict[str, Any]]:
    """Every line of every journal, in time order."""
    lines = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(lines, key=lambda e: e["ts"])


def _day(line: dict[str, Any]) -> date:
    return datetime.fromisoformat(line["ts"]).astimezone(NEW_YORK).date()


def _frac(value: object) -> Fraction:
    return Fraction(str(value))


def realized_by_day(lines: list[dict[str, Any]]) -> dict[tuple[str, date], Decimal]:
    """``(account, New York day)`` → the day's realized P&L net of commissions, in cents."""
    accounts: dict[str, Account] = defaultdict(Account)
    for line in lines:
        event, account = line["event"], accounts[line["account"]]
        day = _day(line)
        if event == "fill":
            leg = line["legs"][0]
            sec_type = line.get("sec_type") or ("OPT" if leg.get("right") else "STK")
            qty = int(line["qty"]) * (1 if line["action"] == "BUY" else -1)
            key = "STK" if sec_type == "STK" else f"OPT:{leg['con_id']}"
            account.trade(day, key, qty, _frac(line["price"]), MULTIPLIER[sec_type], _frac(line["commission"]))
        elif event in SETTLEMENTS and line.get("action") not in ("refused", "lapse"):
            side = line["side"]
            contracts = abs(int(line["qty"]))
            account.trade(day, f"OPT:{line['con_id']}", contracts if side == "short" else -contracts, Fraction(0),
                          MULTIPLIER["OPT"], Fraction(0))
            if line["shares"]:
                account.trade(day, "STK", int(line["shares"]), _frac(line["stock_price"]), 1, Fraction(0))
    return {(name, day): cents(value) for name, a in accounts.items() for day, value in a.realized.items()}


def cents(value: Fraction) -> Decimal:
    """An exact amount rounded half up to cents."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
