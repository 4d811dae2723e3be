"""The broker as the executor sees it: one connection to one IB Gateway, behind a small Protocol.

``executor.ib.IBBroker`` is the real one (the only package that imports ``ib_async``); the unit tests use an
in-memory fake. Prices here are what IB calls them: a combo's ``limit`` is signed (see ``pricing``).

Errors:
    BrokerDisconnected (Retryable)  the connection is down, or not reconciled yet; nothing was or will be sent on it
    OrderRejected (Rejected)        the broker refused the order (error 201 and friends)
    AckTimeout (Retryable)          sent, but no acknowledgement in time: the order's outcome is unknown
    MarketDataTimeout (Retryable)   a quote, qualification or what-if did not answer in time; no order was sent
    OutcomeUnknown (Retryable)      the local view of an order is in doubt (e.g. the client marked it done after an
                                    error): reconcile from broker truth before anything else is sent for it
    NotModifiable (Rejected)        the order cannot be modified or cancelled from this client (placed by another
                                    client id, or known only from a truth fetch without an order id)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from spreadpilot.errors import Rejected, Retryable
from spreadpilot.models import Right


class BrokerDisconnected(Retryable):
    """The gateway connection is down."""


class OrderRejected(Rejected):
    """The broker refused an order."""


class AckTimeout(Retryable):
    """An order message got no acknowledgement in time; whether it reached the broker is unknown."""


class MarketDataTimeout(Retryable):
    """A request that sends no order (qualify, quote, what-if) got no answer in time."""


class OutcomeUnknown(Retryable):
    """The local view of an order is in doubt; broker truth must decide before anything else is sent."""


class NotModifiable(Rejected):
    """This client cannot modify or cancel the order (IB error 10147: only the placing client id can)."""


@dataclass(frozen=True)
class ComboLegSpec:
    """One qualified leg of a combo."""

    con_id: int
    action: str  # BUY | SELL
    right: Right
    strike: Decimal
    expiry: date
    ratio: int = 1


@dataclass(frozen=True)
class Combo:
    """A qualified BAG: the legs IB will trade together."""

    symbol: str
    legs: tuple[ComboLegSpec, ...]


@dataclass(frozen=True)
class ComboQuote:
    """Bid, ask and mid of BUYing one combo unit (negative for a credit spread)."""

    bid: Decimal
    ask: Decimal
    mid: Decimal


@dataclass(frozen=True)
class OrderRequest:
    """One combo limit order for one account."""

    order_ref: str
    account: str
    combo: Combo
    action: str
    qty: int
    limit: Decimal


@dataclass(frozen=True)
class Margin:
    """What-if result: the account's initial margin and equity after the order."""

    init_margin_change: Decimal
    init_margin_after: Decimal
    equity_with_loan_after: Decimal


@dataclass(frozen=True)
class AccountState:
    """What the gateway's account subscription last said of one account (kept current by the broker)."""

    available_funds: Decimal
    excess_liquidity: Decimal
    holds_positions: bool  # any position: the local margin rule for one vertical no longer tells the whole story


@dataclass(frozen=True)
class OrderAck:
    """The broker's identifiers of an accepted order."""

    order_ref: str
    order_id: int
    perm_id: int
    status: str


@dataclass(frozen=True)
class OrderUpdate:
    """An order status as the broker reports it."""

    order_ref: str
    account: str
    order_id: int
    perm_id: int
    status: str  # IB status: PendingSubmit, PreSubmitted, Submitted, Filled, Cancelled, ApiCancelled, Inactive
    filled: int
    remaining: int
    limit: Decimal | None = None
    message: str = ""

    @property
    def done(self) -> bool:
        """No further fills can come."""
        return self.status in DONE_STATUSES


DONE_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
ACK_STATUSES = frozenset({"PreSubmitted", "Submitted", "Filled"})


@dataclass(frozen=True)
class Execution:
    """One execution of one leg; the truth for fills."""

    exec_id: str
    order_ref: str
    account: str
    order_id: int
    perm_id: int
    con_id: int
    sec_type: str
    right: Right | None
    strike: Decimal | None
    expiry: date | None
    side: str  # BOT | SLD
    qty: int
    price: Decimal
    at: datetime
    commission: Decimal = Decimal(0)
    symbol: str = "QQQ"  # the underlying (the execution's contract symbol)


@dataclass(frozen=True)
class HeldPosition:
    """One position line of one account."""

    account: str
    con_id: int
    qty: int
    sec_type: str = "OPT"
    right: Right | None = None
    strike: Decimal | None = None
    expiry: date | None = None
    symbol: str = "QQQ"  # the underlying (the broker's contract symbol): the lifecycle follows each by its own


@dataclass(frozen=True)
class BrokerTruth:
    """Everything the broker knows that reconciliation needs, fetched after a (re)connect."""

    open_orders: tuple[OrderUpdate, ...] = ()
    completed_orders: tuple[OrderUpdate, ...] = ()
    executions: tuple[Execution, ...] = ()
    positions: tuple[HeldPosition, ...] = ()
    max_order_id: int = 0


# The gateway's link to IBKR's servers, as IB numbers it (``BrokerListener.on_connection``; the adapter's code
# catalogue, ``executor.ib.codes``, classifies every other code)
LINK_LOST, LINK_RESTORED_DATA_LOST, LINK_RESTORED_DATA_KEPT = 1100, 1101, 1102


@dataclass
class BrokerListener:
    """Callbacks a broker invokes on the event loop (set once by the gateway pool)."""

    on_order: Callable[[OrderUpdate], None] = lambda update: None
    on_execution: Callable[[Execution], None] = lambda execution: None
    on_connection: Callable[[int, str], None] = lambda code, message: None  # LINK_LOST / LINK_RESTORED_*
    on_farm: Callable[[int, str], None] = lambda code, message: None  # a data farm's status (executor.farms)
    on_disconnected: Callable[[], None] = lambda: None
    # asked right before an order message goes on the wire (after any wait for the message budget): False while the
    # gateway is not reconciled, so a message that waited in the budget across a reconnect is not sent
    may_send: Callable[[], bool] = lambda: True


class Broker(Protocol):
    """One connection to one IB Gateway (advisor or single account)."""

    def set_listener(self, listener: BrokerListener) -> None:
        """Where order updates, executions and connection events go."""
        ...

    def is_connected(self) -> bool:
        """True while the API session is up."""
        ...

    async def connect(self) -> list[str]:
        """Open the session; the managed accounts. Raises ``BrokerDisconnected`` on failure."""
        ...

    async def disconnect(self) -> None:
        """Close the session (orders stay at the broker)."""
        ...

    async def truth(self) -> BrokerTruth:
        """Open orders, completed orders, executions and positions, and raise the next order id above all seen."""
        ...

    async def qualify(self, symbol: str, expiry: date, right: Right, short_strike: Decimal,
                      long_strike: Decimal) -> Combo:
        """The combo that sells ``short_strike`` and buys ``long_strike``; ``Rejected`` if a leg is not listed."""
        ...

    async def quote(self, combo: Combo) -> ComboQuote | None:
        """The combo's live quote from its legs, or None if a leg has no quote."""
        ...

    def account_state(self, account: str) -> AccountState | None:
        """The account's funds and whether it holds positions, from the one account subscription the session keeps
        (no request per follower); None if the broker has not reported the account yet."""
        ...

    async def what_if(self, request: OrderRequest) -> Margin:
        """The margin the order would need."""
        ...

    async def place(self, request: OrderRequest) -> OrderAck:
        """Send a new order and wait for its acknowledgement."""
        ...

    async def modify(self, order_ref: str, limit: Decimal) -> OrderAck:
        """Send a new limit for a working order (same order id) and wait for the acknowledgement."""
        ...

    async def cancel(self, order_ref: str) -> None:
        """Ask the broker to cancel a working order (the outcome arrives as an ``OrderUpdate``)."""
        ...
