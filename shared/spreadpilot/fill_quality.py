"""How fairly a signal was filled across followers: times from the signal and credits against the mid and the best.

Computed from the intents alone (their state history and fills), so the web app, the monthly statement and the
benchmark show the same figures, and a test can recompute them from the broker's journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from spreadpilot.models import IntentKind, IntentState, OrderIntent

CENT = Decimal("0.01")


@dataclass(frozen=True)
class FillQuality:
    """One follower's entry for one signal."""

    follower_id: str
    to_submit_s: float | None  # signal recorded → order sent
    to_ack_s: float | None  # → acknowledged by the broker
    to_fill_s: float | None  # → completely filled
    credit: Decimal | None  # average credit per spread
    vs_mid: Decimal | None  # credit − the signal's mid (negative: conceded)
    vs_best: Decimal | None  # credit − the best credit any follower got (≤ 0)


def _first(intent: OrderIntent, state: IntentState) -> datetime | None:
    return next((c.at for c in intent.history if c.state is state), None)


def _since(start: datetime, at: datetime | None) -> float | None:
    return None if at is None else round((at - start).total_seconds(), 3)


def fill_quality(intents: Iterable[OrderIntent]) -> list[FillQuality]:
    """The fill quality of each follower's entry intent of one signal, by follower id."""
    entries = sorted((i for i in intents if i.kind is IntentKind.ENTRY), key=lambda i: i.follower_id)
    credits = [i.avg_price for i in entries if i.avg_price is not None and i.filled_qty > 0]
    best = max(credits) if credits else None
    rows = []
    for i in entries:
        credit = i.avg_price if i.filled_qty > 0 else None
        rows.append(FillQuality(
            follower_id=i.follower_id, to_submit_s=_since(i.created_at, _first(i, IntentState.SUBMITTED)),
            to_ack_s=_since(i.created_at, _first(i, IntentState.WORKING)),
            to_fill_s=_since(i.created_at, _first(i, IntentState.FILLED)), credit=credit,
            vs_mid=None if credit is None or i.signal_mid is None else (credit - i.signal_mid).quantize(CENT),
            vs_best=None if credit is None or best is None else (credit - best).quantize(CENT),
        ))
    return rows


def credit_spread(rows: Iterable[FillQuality]) -> Decimal | None:
    """Best minus worst fill credit across followers (0 = everyone got the same price)."""
    credits = [r.credit for r in rows if r.credit is not None]
    return (max(credits) - min(credits)).quantize(CENT) if credits else None


def average(values: Iterable[Decimal | float | None], places: Decimal = CENT) -> Decimal | None:
    """The mean of the known values to ``places`` (None if none is known)."""
    known = [Decimal(str(v)) for v in values if v is not None]
    return (sum(known, Decimal(0)) / len(known)).quantize(places) if known else None


@dataclass(frozen=True)
class FillSummary:
    """One signal across followers: how far apart the credits were, and the typical follower's distance and wait."""

    filled: int  # followers whose entry filled
    credit_spread: Decimal | None  # best − worst credit
    avg_vs_best: Decimal | None  # the mean follower's credit − the best
    avg_to_fill_s: Decimal | None  # the mean time from the signal to a complete fill


def summary(rows: Iterable[FillQuality]) -> FillSummary:
    """The summary line of one signal's fill-quality table."""
    rows = list(rows)
    filled = [r for r in rows if r.credit is not None]
    return FillSummary(filled=len(filled), credit_spread=credit_spread(filled),
                       avg_vs_best=average([r.vs_best for r in filled]),
                       avg_to_fill_s=average([r.to_fill_s for r in filled], Decimal("0.001")))
