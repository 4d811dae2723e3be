"""The real broker: one ``ib_async.IB`` session per gateway (the only package that imports ``ib_async``).

Why ``ib_async``: it is the maintained continuation of ``ib_insync`` with the same API (``IB``, ``Option``,
``Contract``, ``ComboLeg``, ``LimitOrder``, events). ``ib_insync`` 0.9.86 is frozen since 2024 and stops at Python
3.11; ``ib_async`` fixes what-if and phantom-order bugs and returns ``None`` per contract it cannot qualify. It is
asyncio-native, so every call here is an ``*Async`` method or a non-blocking send on the service's one loop (no
``ib.sleep``, ``util.run`` or ``nest_asyncio``). It throttles outgoing messages to 45/s per connection (IB allows
50), which is what spaces a large fan-out on one advisor connection.

IB quirks handled here:
- ``orderRef`` (= the intent id) is how orders are matched; order ids roll back after a gateway restart, so after
  every truth fetch the next order id is raised above every id the broker reported (else a new order would reuse
  an old id and IB would treat it as a modify).
- ib_async marks an order "Cancelled" locally on any non-warning error for its id (e.g. 103 after a modify of a
  just-filled order); only the broker's own statuses and the catalogue's refusals (``codes``: 201, 200, 460, …)
  are passed on, never those guesses. Every other code is classified in ``codes``; one on a pending placement or
  modify that is neither a refusal nor informational (an unknown code included) ends it as ``OutcomeUnknown``.
- Executions (per leg) can arrive before ``openOrder``; they are passed on keyed by ``orderRef`` as they come.
- Quotes are snapshots (``reqTickersAsync``), so after 1101 "data lost" there is no subscription to renew.

Modules (``IBBroker`` below is their composition):
    session     ``IBSession``: connect, the truth fetch, acknowledgements, the ib_async events
    orders      ``EntryOrders``: the entry's ``Broker`` operations (qualify, quote, what-if, place/modify/cancel)
    lifecycle   ``LifecycleOperations``: ``LifecycleBroker``'s positions, leg quotes, closing orders, exercise, P&L
    convert     ib_async objects → the executor's value types (and the one BAG contract builder)
    codes       every IB message code the adapter acts on, classified (terminal, reconcile, retry, connectivity,
                informational); an unknown code fails closed
"""

from __future__ import annotations

from executor.ib.lifecycle import LifecycleOperations
from executor.ib.orders import EntryOrders

__all__ = ["IBBroker"]


class IBBroker(EntryOrders, LifecycleOperations):
    """``Broker`` and ``LifecycleBroker`` over one ib_async session."""
