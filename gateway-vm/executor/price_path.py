"""Fairness at entry: every follower of a signal gets the same price path, and the send order rotates daily.

The first quote of a signal fixes the path: its mid credit and the time it was seen (``t0``). A follower whose
order goes out ``k`` ladder steps after ``t0`` (the tail of a large fan-out) starts at step ``k``'s limit and
concedes on the same schedule as everyone else, so no follower is filled better or worse for being sent later.
Which follower goes first is a permutation seeded by the day, reproducible in a replay and different every day.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from executor.ladder import next_limit

T = TypeVar("T")


@dataclass(frozen=True)
class PricePath:
    """One signal's ladder: the mid credit at the first quote, when it was seen, and the step length."""

    mid_credit: Decimal
    t0: float  # business epoch seconds
    step_s: float

    def step_at(self, at: float, max_steps: int) -> int:
        """The ladder step in force at ``at`` (capped at the last step)."""
        return min(max_steps, max(0, int((at - self.t0) // self.step_s)))

    def credit(self, step: int, floor: Decimal, tick: Decimal) -> Decimal:
        """The credit asked at ``step``."""
        return next_limit(step, self.mid_credit, floor, tick)

    def step_time(self, step: int) -> float:
        """When ``step`` begins."""
        return self.t0 + step * self.step_s


def daily_order(items: Sequence[T], day: date) -> list[T]:
    """``items`` in the day's order: a permutation seeded by the date, so each day puts someone else last."""
    seed = int.from_bytes(hashlib.sha256(day.isoformat().encode()).digest()[:8], "big")
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)  # noqa: S311  # a fair rotation, reproducible by design: no secret
    return shuffled
