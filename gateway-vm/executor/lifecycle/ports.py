"""What the lifecycle needs from a broker and from Firestore: two small Protocols and their value types.

``LifecycleBroker`` extends the executor's ``Broker`` with the operations of the day after the entry (positions,
leg quotes, P&L, closing orders, exercise); ``executor.ib.IBBroker`` implements both. Prices follow IB:
a combo's limit is signed (see ``executor.pricing``), ``None`` means a market order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from executor.broker import Broker, Combo, HeldPosition, OrderAck
from spreadpilot.actions import OperatorAction
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.models import Command, Follower, OrderIntent, PnLSnapshot, Position


@dataclass(frozen=True)
class LegQuote:
    """Bid and ask of one contract."""

    con_id: int
    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        """Halfway between bid and ask."""
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class AccountPnL:
    """The broker's P&L of one account today (``reqPnL``)."""

    daily: Decimal
    unrealized: Decimal
    realized: Decimal


@dataclass(frozen=True)
class ComboOrder:
    """A closing combo order: limit (signed, IB's convention) or market when ``limit`` is None."""

    order_ref: str
    account: str
    combo: Combo
    action: str  # BUY | SELL
    qty: int
    limit: Decimal | None


@dataclass(frozen=True)
class SingleOrder:
    """An order for one contract (an orphan leg or the assigned stock); market when ``limit`` is None."""

    order_ref: str
    account: str
    con_id: int
    sec_type: str  # OPT | STK
    action: str  # BUY | SELL
    qty: int
    limit: Decimal | None = None
    symbol: str = "QQQ"  # the underlying (the contract is sent whole, so its executions carry the symbol back)


class LifecycleBroker(Broker, Protocol):
    """The executor's broker plus what positions through the day need."""

    async def positions(self, account: str | None = None) -> list[HeldPosition]:
        """Every non-zero position of every account on this connection, or of ``account`` only."""
        ...

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        """Snapshot quotes of contracts by conId (a contract without a two-sided quote is left out)."""
        ...

    async def underlying_price(self, symbol: str) -> Decimal | None:
        """The underlying's mid (or last) price, None if unknown."""
        ...

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        """Send a combo order (limit or market) and wait for its acknowledgement."""
        ...

    async def place_single(self, order: SingleOrder) -> OrderAck:
        """Send a one-contract order and wait for its acknowledgement."""
        ...

    async def to_market(self, order_ref: str) -> OrderAck:
        """Turn a working limit order into a market order (same order id) and wait for the acknowledgement."""
        ...

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        """Exercise ``qty`` long options of ``con_id`` on their listing ``exchange``."""
        ...

    async def account_pnl(self, account: str) -> AccountPnL | None:
        """Today's P&L of ``account`` from its live subscription (None until the broker reported it)."""
        ...

    async def post_expiry_excess(self, account: str) -> Decimal | None:
        """The excess liquidity ``account`` would have once today's options expired (IB's ``PostExpirationExcess``,
        from a live subscription: None until the broker reported it)."""
        ...


class LifecycleStore(Protocol):
    """What the lifecycle reads and writes in Firestore."""

    async def followers(self) -> list[Follower]:
        """Every follower (disabled ones too: their positions still need watching)."""
        ...

    async def entries_for(self, day: date) -> list[OrderIntent]:
        """Every order intent of ``day``'s expiry."""
        ...

    async def open_positions(self) -> list[Position]:
        """Positions whose assignment is not settled (state ASSIGNED)."""
        ...

    async def save_position(self, position: Position, **extra: object) -> None:
        """Write ``positions/{follower_id}:{signal_id}`` (extra fields kept beside the model's)."""
        ...

    async def set_controls(self, scope: str, *, entries_paused: bool, at: datetime, updated_by: str, reason: str,
                           **extra: object) -> None:
        """Write the kill switch ``controls/{scope}`` (scope ``global`` or a follower id)."""
        ...

    async def claim(self, key: str, **data: object) -> bool:
        """Create the idempotency key; False if it existed."""
        ...

    async def claim_data(self, key: str) -> dict[str, object] | None:
        """What a claim holds, None if absent."""
        ...

    async def update_claim(self, key: str, **data: object) -> None:
        """Record progress on a claim."""
        ...

    async def record_command(self, command: Command, **status: object) -> None:
        """Merge the command and its handling status into ``commands/{command_id}``."""
        ...

    async def audit(self, action: str, *, actor: str, source: str, at: str, **details: object) -> None:
        """Append one audit record."""
        ...

    async def write_snapshots(self, snapshots: Iterable[PnLSnapshot]) -> None:
        """Write MTM snapshots in one batch."""
        ...

    async def confirmation(self, code: str) -> PendingConfirmation | None:
        """``pending_confirmations/{code}`` as a front end issued it (None if none did)."""
        ...

    async def create_action(self, action: OperatorAction) -> bool:
        """Create ``operator_actions/{action_id}``; False if it existed."""
        ...

    async def get_action(self, action_id: str) -> OperatorAction | None:
        """The stored action, None if absent."""
        ...

    async def save_action(self, action: OperatorAction) -> None:
        """Write the action's current state."""
        ...

    async def unfinished_actions(self) -> list[OperatorAction]:
        """Actions still in progress."""
        ...

    async def finish_command(self, command_id: str, **status: object) -> None:
        """Merge an action's end into ``commands/{command_id}``."""
        ...
