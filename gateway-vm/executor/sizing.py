"""How many spreads one follower trades."""

from __future__ import annotations

import math
from decimal import Decimal


def contracts_for(qty_per_leg: int, multiplier: Decimal, max_contracts: int) -> int:
    """``min(max_contracts, floor(qty_per_leg × multiplier))``; 0 means "skip this follower"."""
    return max(0, min(max_contracts, math.floor(Decimal(qty_per_leg) * multiplier)))


def affordable_contracts(contracts: int, margin_change: Decimal, available: Decimal) -> int:
    """The most spreads whose margin fits ``available`` funds, given what ``contracts`` of them would need."""
    if contracts <= 0 or margin_change <= 0:
        return contracts
    per_contract = margin_change / contracts
    return max(0, min(contracts, math.floor(available / per_contract)))
