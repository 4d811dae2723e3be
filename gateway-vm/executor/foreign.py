"""Foreign activity: an order, an execution or a position in a follower's account that no orderRef of ours explains.

A follower trading by hand in the account SpreadPilot trades, or another API client placing orders there, changes
the account under the executor's feet: margin, positions and the P&L the follower is billed on. So each one is
reported (``Engine.watch_foreign``) and the lifecycle pauses that follower's entries with one alert
(``executor.lifecycle.foreign``) until an operator has looked and resumes them.

Ours means: the orderRef has the shape of an intent id *and* that intent exists (in this process or in the store).
Anything else is foreign: no orderRef (an order typed in TWS or the mobile app), any other text, or an intent-shaped
orderRef no intent carries. A foreign orderRef is only ever compared, never parsed for meaning, so none breaks
anything. A position is ours when the day's executions of our orders traded its contract (or, for stock, traded
options in that account: an assignment, exercise or expiry delivery of our legs); anything else in a follower's
account, a hedge of their own or yesterday's stock included, is foreign. Found in every truth fetch (after each
connect, reconnect and resync, and the execution sweep at least every ``ledger_full_sweep_s``, 15 minutes by
default) and in each live execution that reaches this client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from executor.broker import BrokerTruth, Execution, HeldPosition, OrderUpdate
from executor.reconcile import is_intent_id


@dataclass(frozen=True)
class Foreign:
    """The first foreign order or execution seen in one follower's account."""

    follower_id: str
    account: str
    what: str


def describe_order(order: OrderUpdate) -> str:
    """An open order no intent explains, as an operator reads it."""
    ref = f"orderRef {order.order_ref!r}" if order.order_ref else "no orderRef"
    return f"open order {order.order_id or '(manual)'} (perm {order.perm_id}, {ref}, {order.status})"


def describe_execution(execution: Execution) -> str:
    """An execution no intent explains, as an operator reads it."""
    ref = f"orderRef {execution.order_ref!r}" if execution.order_ref else "no orderRef"
    what = f"{execution.sec_type} {execution.strike or ''}{execution.right or ''}".strip()
    return f"execution {execution.exec_id}: {execution.side} {execution.qty} {what} at {execution.price} ({ref})"


def describe_position(position: HeldPosition) -> str:
    """A position no execution of ours today explains, as an operator reads it."""
    what = f"{position.symbol} {position.sec_type} {position.strike or ''}{position.right or ''}".strip()
    expiry = f" expiring {position.expiry}" if position.expiry else ""
    return f"position {position.qty} {what}{expiry} (conId {position.con_id}) that no order of ours today traded"


def _explained(position: HeldPosition, traded: set[int], symbols: frozenset[str]) -> bool:
    """A position is ours when today's executions of our orders traded its contract, or, for stock of an underlying
    we trade, when they traded options in the account (our short leg assigned, our long leg exercised, or the
    expiry's delivery)."""
    return position.con_id in traded or (position.sec_type == "STK" and position.symbol in symbols and bool(traded))


def foreign_in(truth: BrokerTruth, accounts: Mapping[str, str], ours: Callable[[str], bool],
               symbols: frozenset[str] = frozenset({"QQQ"})) -> list[Foreign]:
    """The first foreign order, execution or position of each follower account in ``truth`` (accounts → follower
    ids); ``ours`` says whether an orderRef is one of our intents (``reconcile.our_intents`` of the same truth).
    A position is explained by the day's executions of our orders (the truth's executions are the day's), stock
    only of an underlying in ``symbols`` (the ones traded)."""
    found: dict[str, Foreign] = {}
    traded: dict[str, set[int]] = {}
    items: list[OrderUpdate | Execution] = [*truth.open_orders, *truth.executions]
    for x in items:
        mine = is_intent_id(x.order_ref) and ours(x.order_ref)
        if mine and isinstance(x, Execution):
            traded.setdefault(x.account, set()).add(x.con_id)
        if x.account in accounts and x.account not in found and not mine:
            what = describe_order(x) if isinstance(x, OrderUpdate) else describe_execution(x)
            found[x.account] = Foreign(accounts[x.account], x.account, what)
    for p in truth.positions:
        explained = _explained(p, traded.get(p.account, set()), symbols)
        if p.account in accounts and p.account not in found and p.qty and not explained:
            found[p.account] = Foreign(accounts[p.account], p.account, describe_position(p))
    return [found[a] for a in sorted(found)]


def foreign_execution(execution: Execution, accounts: Mapping[str, str]) -> Foreign | None:
    """A live execution in a follower account whose orderRef cannot be ours (an intent-shaped one waits for the next
    truth fetch, which asks the store)."""
    follower_id = accounts.get(execution.account)
    if follower_id is None or is_intent_id(execution.order_ref):
        return None
    return Foreign(follower_id, execution.account, describe_execution(execution))
