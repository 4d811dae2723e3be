"""What a finished order means for its intent, and the alert it deserves."""

from __future__ import annotations

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.broker import OrderUpdate
from spreadpilot.models import IntentState, OrderIntent, Severity


def final_state(status: str, filled: int, contracts: int) -> IntentState:
    """The intent state of an order that the broker reports as done with ``filled`` of ``contracts`` spreads."""
    if status == "Filled" or (contracts > 0 and filled >= contracts):
        return IntentState.FILLED
    if filled > 0:
        return IntentState.PARTIALLY_FILLED
    if status == "Inactive":
        return IntentState.REJECTED
    return IntentState.CANCELLED


async def settle(book: IntentBook, alerts: Alerts, update: OrderUpdate, note: str = "") -> OrderIntent:
    """Record a done order's outcome on its intent (once) and alert on a rejection or a partial fill."""
    intent = book.get(update.order_ref)
    if intent.state.final:
        return intent
    filled = max(intent.filled_qty, update.filled)
    state = final_state(update.status, filled, intent.contracts)
    reason = note or update.message or f"broker status {update.status}"
    intent = await book.move(intent.intent_id, state, reason, filled_qty=filled, order_id=update.order_id,
                             perm_id=update.perm_id or intent.perm_id, reason=reason if state is not
                             IntentState.FILLED else intent.reason)
    if state is IntentState.REJECTED:
        await alerts.send("order.rejected", Severity.WARNING, f"order rejected: {reason}",
                          follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=intent.intent_id)
    elif state is IntentState.PARTIALLY_FILLED:
        await alerts.send("order.partial_fill", Severity.WARNING,
                          f"partially filled {intent.filled_qty}/{intent.contracts} spreads: {reason}",
                          follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=intent.intent_id)
    return intent
