"""Positions still open after a day's fills, carried into the next day's rollup at their average cost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from spreadpilot.models import Frozen


class OpenLot(Frozen):
    """An open position in one contract (``daily_pnl/...`` field ``open_lots``), e.g. assigned stock held overnight."""

    con_id: int
    qty: int  # signed: negative = short
    avg: Decimal  # average price per unit
    sec_type: str
    expiry: dt.date | None = None
    mult: int
