"""The limit ladder: start at the mid credit, concede a cent per step, never below the floor."""

from __future__ import annotations

from decimal import Decimal

from executor.pricing import to_cents


def next_limit(step: int, mid: Decimal, floor: Decimal, tick: Decimal = Decimal("0.01")) -> Decimal:
    """The credit asked at ladder ``step`` (0 = the first order): ``mid − step × tick``, at least ``floor``."""
    if step < 0:
        raise ValueError("ladder steps start at 0")
    return max(to_cents(floor), to_cents(mid) - tick * step)


def ladder_exhausted(step: int, max_steps: int) -> bool:
    """True once ``step`` concessions exceed the ladder's ``max_steps``: cancel what is left."""
    return step > max_steps
