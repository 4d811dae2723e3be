"""Reconciliation: after every (re)connect, before any new order, the broker's truth decides each open intent.

Orders are matched by ``orderRef`` (= intent id), never by order id alone (ids roll back after a gateway restart).
An intent the broker has never seen is sent again only if the last attempt can no longer be in flight (a fresh
truth fetch on a live session came after it), at most ``MAX_RESENDS`` times per process (a broker that keeps
dropping an order is not fed forever; after a restart the count starts over). An intent the broker acknowledged
but no longer knows, or whose legs the account holds without any matching order, becomes ``unknown`` and is never
resent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.broker import BrokerTruth, Execution, OrderUpdate
from executor.ledger import ExecutionLedger, Owner
from executor.outcome import settle
from spreadpilot.models import ID_PATTERN, IntentKind, IntentState, OrderIntent, Severity

log = logging.getLogger(__name__)
MAX_RESENDS = 2
RESEND_NOTE = "resend:"
INTENT_ID = re.compile(ID_PATTERN)
INTENT_KINDS = frozenset(kind.value for kind in IntentKind)


class Found(StrEnum):
    WORKING = "working"  # an open order carries the intent's orderRef
    DONE = "done"  # a completed order carries it
    FILLED_NO_ORDER = "filled_no_order"  # executions carry it, no order does
    HELD = "held"  # no order, no execution, but the account holds the spread's legs
    ABSENT = "absent"  # the broker has never seen it


@dataclass(frozen=True)
class Resolution:
    found: Found
    order: OrderUpdate | None = None
    executions: tuple[Execution, ...] = ()
    duplicates: int = 0


def resolve(intent: OrderIntent, truth: BrokerTruth) -> Resolution:
    """What the broker knows about ``intent``."""
    ref = intent.intent_id
    opened = [o for o in truth.open_orders if o.order_ref == ref]
    completed = [o for o in truth.completed_orders if o.order_ref == ref]
    executions = tuple(e for e in truth.executions if e.order_ref == ref)
    perm_ids = {o.perm_id for o in (*opened, *completed) if o.perm_id} or {o.order_id for o in (*opened, *completed)}
    duplicates = max(0, len(perm_ids) - 1)
    if opened:
        return Resolution(Found.WORKING, opened[0], executions, duplicates)
    if completed:
        best = max(completed, key=lambda o: (o.status == "Filled", o.filled))
        return Resolution(Found.DONE, best, executions, duplicates)
    if executions:
        return Resolution(Found.FILLED_NO_ORDER, None, executions)
    if intent.kind is IntentKind.ENTRY and _holds_legs(intent, truth):  # held legs are what a close closes
        return Resolution(Found.HELD)
    return Resolution(Found.ABSENT)


def _holds_legs(intent: OrderIntent, truth: BrokerTruth) -> bool:
    strikes = {intent.spread.short_strike, intent.spread.long_strike}
    return any(
        p.account == intent.account and p.qty != 0 and p.right == intent.spread.right and p.expiry == intent.expiry
        and p.strike in strikes
        for p in truth.positions
    )


async def our_intents(book: IntentBook, truth: BrokerTruth) -> dict[str, OrderIntent]:
    """Our intents behind the truth's orderRefs (executions and open orders), as of now: the ones this process tracks
    from memory, the others (ours from before a restart, or an earlier day's) from the store in one read. A foreign
    orderRef is in none. A snapshot, so what is done with the truth later does not depend on what this process
    tracks by then (a gateway let go meanwhile forgets its intents)."""
    named = {e.order_ref for e in truth.executions} | {o.order_ref for o in truth.open_orders}
    mine = {ref: book.tracked[ref].intent for ref in named if ref in book.tracked}
    refs = {ref for ref in named if ref not in mine and is_intent_id(ref)}
    return mine | (await book.store.get_intents(refs) if refs else {})


async def sweep_executions(book: IntentBook, ledger: ExecutionLedger, accounts: Mapping[str, str],
                           truth: BrokerTruth, ours: Mapping[str, OrderIntent]) -> int:
    """Queue every execution of the truth for the ledger (ours, from before a restart, and foreign ones);
    ``ours`` is ``our_intents`` of the truth."""

    def owner_of(execution: Execution) -> Owner | None:
        tracked = book.tracked.get(execution.order_ref)
        intent = tracked.intent if tracked is not None else ours.get(execution.order_ref)
        if intent is not None:
            return Owner(intent.follower_id, intent)
        follower_id = accounts.get(execution.account)
        return Owner(follower_id, None) if follower_id else None  # foreign, in a follower's account

    return ledger.add_all(truth.executions, owner_of)


def is_intent_id(order_ref: str) -> bool:
    """Whether an orderRef can be one of our intent ids (anything else, e.g. a manual order's, is foreign)."""
    return bool(INTENT_ID.fullmatch(order_ref)) and order_ref.split("-", 1)[0] in INTENT_KINDS


async def reconcile(book: IntentBook, alerts: Alerts, gateway_id: str, truth: BrokerTruth,
                    ledger: ExecutionLedger, accounts: Mapping[str, str], ours: Mapping[str, OrderIntent]) -> None:
    """Bring every open intent on ``gateway_id`` in line with the broker's truth, and ledger every execution
    (``ours`` is ``our_intents`` of the truth)."""
    await sweep_executions(book, ledger, accounts, truth, ours)
    for intent in book.open_on(gateway_id):
        resolution = resolve(intent, truth)
        for execution in resolution.executions:
            await book.on_execution(execution)
        book.forget_update(intent.intent_id)
        await _apply(book, alerts, book.get(intent.intent_id), resolution)
        log.info("reconciled", extra={"order_ref": intent.intent_id, "found": str(resolution.found),
                                      "state": str(book.get(intent.intent_id).state), "gateway_id": gateway_id})
    await ledger.flush()  # best effort now; the ledger keeps retrying what did not land


async def _apply(book: IntentBook, alerts: Alerts, intent: OrderIntent, r: Resolution) -> None:
    ref = intent.intent_id
    if r.found is Found.ABSENT and book.tracked[ref].sending:
        return  # sent after this truth was asked for: its own acknowledgement (or timeout) decides
    if r.duplicates:
        await alerts.send("order.duplicate_at_broker", Severity.CRITICAL,
                          f"{r.duplicates + 1} broker orders carry orderRef {ref}", follower_id=intent.follower_id,
                          signal_id=intent.signal_id, order_ref=ref)
    if r.found is Found.WORKING and r.order is not None:
        if book.tracked[ref].held:
            book.on_order(r.order)  # still resting, still not ours to change: it stays unknown (alerted once)
        elif intent.state is not IntentState.WORKING or intent.order_id != r.order.order_id:
            await book.move(ref, IntentState.WORKING, "reconciled: open at the broker", order_id=r.order.order_id,
                            perm_id=r.order.perm_id or intent.perm_id,
                            limit=r.order.limit if r.order.limit is not None else intent.limit)
        book.on_order(r.order)
    elif r.found is Found.DONE and r.order is not None:
        await settle(book, alerts, r.order, f"reconciled: {r.order.status} at the broker")
        book.on_order(r.order)  # wakes a ladder waiting for this outcome
    elif r.found is Found.FILLED_NO_ORDER:
        intent = book.get(ref)
        state = IntentState.FILLED if intent.filled_qty >= intent.contracts else IntentState.UNKNOWN
        await book.move(ref, state, "reconciled: executions found without their order")
        if state is IntentState.UNKNOWN:
            await _alert_unknown(alerts, intent, "executions found but no order; check the account")
    elif r.found is Found.HELD:
        if intent.state is not IntentState.PLANNED:
            await book.move(ref, IntentState.UNKNOWN, "reconciled: legs held without a matching order")
            await _alert_unknown(alerts, intent, "the account holds the spread's legs but no order matches")
    elif intent.state in (IntentState.SUBMITTED, IntentState.UNKNOWN) and book.tracked[ref].resends < MAX_RESENDS:
        book.tracked[ref].resends += 1
        await book.move(ref, IntentState.PLANNED, f"{RESEND_NOTE} not at the broker after reconciliation")
    elif intent.state is not IntentState.PLANNED and intent.state is not IntentState.UNKNOWN:
        await book.move(ref, IntentState.UNKNOWN, "reconciled: the broker does not know this order")
        await _alert_unknown(alerts, intent, "the broker does not know an order it acknowledged; not resent")
    elif intent.state is IntentState.UNKNOWN:
        await _alert_unknown(alerts, intent, "still not at the broker after resends; not resent again")


async def _alert_unknown(alerts: Alerts, intent: OrderIntent, message: str) -> None:
    await alerts.send("order.unknown", Severity.CRITICAL, message, follower_id=intent.follower_id,
                      signal_id=intent.signal_id, order_ref=intent.intent_id)
