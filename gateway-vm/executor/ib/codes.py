"""Every IB message code the executor acts on, classified once; a code not listed here fails closed.

What each class makes the adapter do (``executor.ib.session``):

- ``TERMINAL``: the order is over at the broker. A refusal (201, 200, 203, 460, 10043, 10058; 110 and 321 for a new
  order) ends the pending placement as ``OrderRejected`` with IB's text; 202 is a cancel, and the broker's own
  Cancelled status that comes with it ends the order.
- ``RECONCILE``: the request was not carried out as sent, and only broker truth can say what the order is now
  (a duplicate id, a cancel too late or of an order that is not there, a modify of a filled order). A pending
  placement or modify ends as ``OutcomeUnknown``: the gateway reconciles before anything more is sent for it.
- ``RETRY``: pacing (100). The message was dropped; for an order that is the same doubt as ``RECONCILE`` (an order
  is never resent blind: reconciliation first proves it absent).
- ``CONNECTIVITY``: the gateway's link to IBKR or its data farms (1100–1102, 2103/2105/2110/2157) or the API socket
  (326, 502, 504). 1100–1102 drive the gateway link's readiness (``executor.gateways``).
- ``INFORMATIONAL``: nothing to do; the order (if any) goes on (2104/2106/2107/2108/2158 farm OK, 2109 outsideRth
  ignored on a combo, 10349 TIF set to DAY by a preset, 399 an order message warning).

Any other code on an order ends its pending placement or modify as ``OutcomeUnknown`` (reconcile, never a blind
resend); on anything else it is logged at WARNING with its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from executor.broker import LINK_LOST, LINK_RESTORED_DATA_KEPT, LINK_RESTORED_DATA_LOST


class Kind(StrEnum):
    """What a code means for the order (or the session) it names."""

    TERMINAL = "terminal"
    RECONCILE = "reconcile"
    RETRY = "retry"
    CONNECTIVITY = "connectivity"
    INFORMATIONAL = "informational"


@dataclass(frozen=True)
class Code:
    """One IB message code: its class and what it means."""

    code: int
    kind: Kind
    meaning: str
    known: bool = True

    @property
    def label(self) -> str:
        """The class as logs and errors name it ("unknown" for a code not in the catalogue)."""
        return str(self.kind) if self.known else "unknown"


_T, _R, _P, _C, _I = Kind.TERMINAL, Kind.RECONCILE, Kind.RETRY, Kind.CONNECTIVITY, Kind.INFORMATIONAL
CATALOGUE: dict[int, Code] = {c.code: c for c in (
    Code(100, _P, "max rate of messages per second exceeded: the message was dropped"),
    Code(103, _R, "duplicate order id: not placed under this id; another order holds it"),
    Code(104, _R, "cannot modify a filled order"),
    Code(105, _R, "the order being modified does not match the original: the modify was refused"),
    Code(110, _T, "price does not conform to the minimum price variation (a modify: refused, the order works on)"),
    Code(135, _R, "cannot find the order with this id"),
    Code(161, _R, "cancel attempted when the order is not in a cancellable state (it may have filled)"),
    Code(200, _T, "no security definition has been found for the request"),
    Code(201, _T, "order rejected, IB's reason follows (margin, permissions, …)"),
    Code(202, _T, "order cancelled"),
    Code(203, _T, "the security is not available or allowed for this account"),
    Code(321, _T, "error validating the request (a what-if without transmit, a bad field)"),
    Code(326, _C, "the client id is already in use: this session was refused"),
    Code(399, _I, "order message warning (the order is accepted)"),
    Code(460, _T, "the order was refused (IB's text names why, e.g. no trading permission)"),
    Code(502, _C, "could not connect to the gateway"),
    Code(504, _C, "not connected"),
    Code(1100, _C, "connectivity between the gateway and IBKR lost"),
    Code(1101, _C, "connectivity restored, data lost: subscriptions must be renewed"),
    Code(1102, _C, "connectivity restored, data maintained"),
    Code(2103, _C, "a market data farm connection is broken"),
    Code(2104, _I, "a market data farm connection is OK"),
    Code(2105, _C, "a historical data farm connection is broken"),
    Code(2106, _I, "a historical data farm connection is OK"),
    Code(2107, _I, "a historical data farm connection is inactive, available on demand"),
    Code(2108, _I, "a market data farm connection is inactive, available on demand"),
    Code(2109, _I, "outsideRth is ignored on this order (a combo)"),
    Code(2110, _C, "connectivity between the gateway and the server is broken; it is restored automatically"),
    Code(2157, _C, "the security definition farm connection is broken"),
    Code(2158, _I, "the security definition farm connection is OK"),
    Code(10043, _T, "refused: a guaranteed combo may not carry per-leg prices"),
    Code(10058, _T, "refused: an order attribute this combo does not accept (e.g. NonGuaranteed)"),
    Code(10147, _R, "the order to be cancelled is not found (or was placed by another client id)"),
    Code(10148, _R, "the order cannot be cancelled in its state (filled, or already cancelling)"),
    Code(10349, _I, "the order's TIF was set to DAY by an order preset"),
)}

# the gateway ↔ IBKR link: passed to ``BrokerListener.on_connection`` (``GatewayLink`` follows it)
CONNECTIVITY_LINK = frozenset({LINK_LOST, LINK_RESTORED_DATA_LOST, LINK_RESTORED_DATA_KEPT})
# ib_async marks an order Cancelled locally on these; for our placements that is a refusal (Inactive), not a cancel
REFUSALS = frozenset(c.code for c in CATALOGUE.values() if c.kind is Kind.TERMINAL and c.code != 202)


def classify(code: int) -> Code:
    """The catalogue's entry, or an unknown code classified to fail closed (``RECONCILE``)."""
    return CATALOGUE.get(code) or Code(code, Kind.RECONCILE, "not in the catalogue: broker truth decides",
                                       known=False)
