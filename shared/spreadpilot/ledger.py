"""The account ledger: every event that moves money or positions in a follower's account, as the P&L reads it.

One ledger, two kinds of entry, both written by the executor:
    fills/{exec_id}               Fill: an execution (ours or foreign) with its commission (``executor.ledger``)
    settlements/{event_id}        SettlementEvent: an assignment, exercise or expiry (``executor.lifecycle.settlement``)
and, beside it, what the broker itself reported, for the daily reconciliation:
    broker_readings/{follower_id}:{YYYY-MM-DD}:{phase}   BrokerReading: ``close`` (reqPnL realized, positions and
                                                          their marks after the close) or ``open`` (positions before
                                                          the next session opens, after overnight settlement)
and the commission rate each month is billed at (fixed by the first rollup that touches the month):
    commission_rates/{follower_id}:{YYYY-MM}             CommissionRate

Rules every reader applies (here, so the executor, the rollups and the replay agree):
- an IB execution correction repeats an execution with an ``exec_id`` that differs only after its last period: the
  latest revision replaces the earlier one (``spreadpilot.models.execution_key``, ``current_executions``), it is
  never a second fill;
- a settlement moves the option out at no price and, when it delivers stock, the stock in at the strike
  (``SHARES_PER_CONTRACT`` shares per contract): a short put assigned or a long call exercised buys, a short call
  assigned or a long put exercised sells;
- stock is one position per symbol (``position_key``), options one per contract id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from spreadpilot.models import AwareDatetime, Fill, Frozen, Id, Right, execution_key, execution_revision

MULTIPLIERS = {"OPT": 100, "FOP": 100, "STK": 1}
SETTLEMENTS = "settlements"
BROKER_READINGS = "broker_readings"
COMMISSION_RATES = "commission_rates"
SHARES_PER_CONTRACT = 100
# OCC exercises by exception an option that closes at least this far in the money.
EXERCISE_BY_EXCEPTION = Decimal("0.01")


class SettlementKind(StrEnum):
    ASSIGNMENT = "assignment"  # a short option assigned before expiry
    EXERCISE = "exercise"  # a long option exercised before expiry
    EXPIRY = "expiry"  # an option held at its expiry's close: worthless, or exercised/assigned by exception


Side = Literal["short", "long"]


def delivered_shares(right: Right, side: Side, contracts: int) -> int:
    """Signed stock delivered when ``contracts`` options settle into stock (+ bought, − sold)."""
    buys = (right is Right.CALL) == (side == "long")
    return contracts * SHARES_PER_CONTRACT * (1 if buys else -1)


def in_the_money(right: Right, strike: Decimal, underlying: Decimal) -> bool:
    """Exercised by exception at expiry: in the money by at least $0.01."""
    intrinsic = underlying - strike if right is Right.CALL else strike - underlying
    return intrinsic >= EXERCISE_BY_EXCEPTION


class SettlementEvent(Frozen):
    """An option position settled without an execution: assigned, exercised, or expired.

    ``qty`` contracts of the ``side`` position left the account; ``shares`` of ``symbol`` arrived (signed; 0 when it
    expired worthless) at ``strike``. ``at`` is when it took effect (an expiry: the session close).
    """

    event_id: Id
    kind: SettlementKind
    follower_id: Id
    account: str
    con_id: int
    symbol: str = "QQQ"
    right: Right
    strike: Decimal = Field(gt=0)
    expiry: date
    side: Side
    qty: int = Field(gt=0)
    shares: int = 0
    closing_price: Decimal | None = None  # the underlying at the close (expiry)
    at: AwareDatetime
    recorded_at: AwareDatetime
    note: str = ""

    @property
    def option_qty(self) -> int:
        """Signed change of the option position (a short settled is +qty, a long −qty)."""
        return self.qty if self.side == "short" else -self.qty


class HeldLine(Frozen):
    """One position as the broker reported it, with its mark when one was read."""

    con_id: int
    symbol: str = "QQQ"
    sec_type: str = "OPT"
    right: Right | None = None
    strike: Decimal | None = None
    expiry: date | None = None
    qty: int
    mark: Decimal | None = None  # price per unit (per share for options, as quoted)


class BrokerReading(Frozen):
    """What the broker reported for one account at one point of a trading day."""

    follower_id: Id
    account: str
    date: date
    phase: Literal["close", "open"]
    at: AwareDatetime
    realized_pnl: Decimal | None = None  # the day's realized P&L (reqPnL), commissions included
    positions: tuple[HeldLine, ...] = ()
    underlying: Decimal | None = None

    @property
    def doc_id(self) -> str:
        """``{follower_id}:{date}:{phase}``."""
        return f"{self.follower_id}:{self.date.isoformat()}:{self.phase}"


class CommissionRate(Frozen):
    """The commission rate a month is billed at (percent of the gain above the high-water mark)."""

    follower_id: Id
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    pct: Decimal = Field(ge=0, le=100)
    recorded_at: AwareDatetime


# ── executions: corrections and positions ──────────────────────────────────────────────────────────────────────────


def current_executions(fills: Iterable[Fill]) -> list[Fill]:
    """The fills with every correction applied: of an execution's revisions only the latest counts.

    The ledger already keeps one document per execution (``fills/{execution_key}``); this holds for any list of
    fills, e.g. a replay file or executions read before a correction reached the store.
    """
    latest: dict[tuple[str, int, str], Fill] = {}
    for fill in fills:
        key = (fill.account, fill.con_id, execution_key(fill.exec_id))
        held = latest.get(key)
        if held is None or execution_revision(fill.exec_id) > execution_revision(held.exec_id):
            latest[key] = fill
    return sorted(latest.values(), key=lambda f: (f.at, f.exec_id))


def contract_multiplier(sec_type: str) -> int:
    """Cash per unit of price for one contract of this security type."""
    return MULTIPLIERS.get(sec_type, 1)


def position_key(sec_type: str, symbol: str, con_id: int) -> str:
    """Which position an entry moves: one per stock symbol, one per option contract."""
    return f"STK:{symbol}" if sec_type == "STK" else f"{sec_type}:{con_id}"


def signed_qty(fill: Fill) -> int:
    """The fill's change of its position (bought +, sold −)."""
    return fill.qty if fill.side == "BOT" else -fill.qty
