"""The JSONL journal: one line per order event the simulator received or produced (the broker-side truth)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ibsim.contracts import Listing
from ibsim.orders import Leg, SimOrder


def leg_record(listing: Listing, action: str, ratio: int) -> dict[str, Any]:
    """A leg as DESIGN.md's journal spells it."""
    return {
        "con_id": listing.con_id,
        "symbol": listing.symbol,
        "expiry": listing.expiry,
        "strike": listing.strike,
        "right": listing.right,
        "action": action,
        "ratio": ratio,
    }


def order_record(order: SimOrder, what_if: bool) -> dict[str, Any]:
    """The fields of an ``order`` line."""
    legs = order.legs or ([Leg(order.listing, order.action, 1)] if order.listing else [])
    return {
        "order_id": order.order_id,
        "perm_id": order.perm_id,
        "order_ref": order.order_ref,
        "what_if": what_if,
        "action": order.action,
        "qty": order.qty,
        "order_type": order.order_type,
        "limit": order.limit,
        "legs": [leg_record(leg.listing, leg.action, leg.ratio) for leg in legs],
        "client_id": order.client_id,
    }


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


class Journal:
    """Appends events to a file (or keeps them in memory only) with the simulated time as ``ts``."""

    def __init__(self, path: str | None, now: Callable[[], datetime]) -> None:
        self._now = now
        self._file: IO[str] | None = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held open for the process lifetime
        self.events: list[dict[str, Any]] = []

    def write(self, event: str, account: str, **fields: Any) -> None:
        """Record one event."""
        line = {"event": event, "ts": self._now().isoformat(), "account": account, **fields}
        self.events.append(line)
        if self._file is not None:
            self._file.write(json.dumps(line, default=_default) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
