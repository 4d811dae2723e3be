"""Fault kinds and the armed state they leave behind (consumed by the next order or connection they hit).

Kinds (scenario ``faults[].kind`` or control ``POST /fault``):
- ``connectivity_lost`` (error 1100), ``connectivity_restored_data_lost`` (1101, and market data subscriptions are
  dropped), ``connectivity_restored`` (1102);
  ``nightly_reset``: 1100, then 1102 after ``seconds``; the socket stays open as with IBKR's nightly reset.
- ``disconnect``: close every socket abruptly and refuse connections for ``seconds`` (simulated seconds).
- ``lower_next_id``: the next handshake answers ``nextValidId`` = ``next_id`` (default 1), as after a gateway
  restart; the restarted gateway has forgotten earlier order ids.
- ``exec_before_open``, ``partial_fill``, ``missing_status``, ``drop_order``: armed for the next order (of
  ``account``, if given): executions sent before openOrder; only part fills; orderStatus messages omitted; the order
  vanishes without an answer.
- ``link_lost_at_order``: the next order (of ``account``, if given) arrives just as the gateway loses its link to
  IBKR (1100 reaches the clients right after the order's answer), and the link returns (1102) ``seconds`` later.
  The order is what IB Gateway does with it during 1100: kept and resubmitted on 1102 (``resubmit_on_restore``, the
  default) or rejected.
- ``order_error``: the next order message (of ``account``, if given; a modify counts) is answered with error
  ``code`` and ``text``. With ``keep`` false (the default) the request is not carried out (a new order is not
  placed, a modify not applied); with ``keep`` true the order goes on and the message follows its answer.
- ``system_message``: error ``code`` with ``text`` to every client, not tied to a request (id -1), as the gateway
  reports its data farms (2103 broken … 2104 OK) or its link to the server (2110).
- ``assignment``: a short option of ``account`` becomes stock (``con_id`` picks one; default the first).
- ``expire``: settle today's options now, as 16:00 would.
- ``slow_answer``: the answer to the next ``request`` (of ``client_id``, if given) is held back ``seconds`` and
  then sent whole, as a busy gateway answers ``reqCompletedOrders`` late; ``request`` names a client message as
  ``codes.In`` does, without ``REQ_`` and in lower case: ``completed_orders``, ``all_open_orders``, ``executions``,
  ``positions``, ``contract_data``, ``mkt_data``… The answer is what the request would have got when it arrived.
A ``follower: fNN`` names the NN-th managed account where ``account`` is not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ibsim.codes import In

ORDER_FAULTS = frozenset({"exec_before_open", "partial_fill", "missing_status", "drop_order", "link_lost_at_order",
                          "order_error"})
CONNECTIVITY_CODES = {
    "connectivity_lost": 1100,
    "connectivity_restored_data_lost": 1101,
    "connectivity_restored": 1102,
}
KINDS = ORDER_FAULTS | set(CONNECTIVITY_CODES) | {"nightly_reset", "disconnect", "lower_next_id", "assignment",
                                                   "expire", "slow_answer", "system_message"}


def request_code(name: str) -> In:
    """The client message a ``slow_answer`` fault names (``completed_orders`` → ``In.REQ_COMPLETED_ORDERS``)."""
    key = name.strip().upper()
    for candidate in (f"REQ_{key}", key):
        if candidate in In.__members__:
            return In[candidate]
    known = sorted(member.lower().removeprefix("req_") for member in In.__members__)
    raise ValueError(f"unknown request {name!r}; known: {known}")


@dataclass(frozen=True)
class SlowAnswer:
    """One armed ``slow_answer``: which request, whose, and how many simulated seconds its answer waits."""

    request: In
    seconds: float
    client_id: int | None = None

    @property
    def request_name(self) -> str:
        """The request as the fault names it (``completed_orders``)."""
        return self.request.name.lower().removeprefix("req_")


@dataclass(frozen=True)
class OrderError:
    """One armed ``order_error``: the code and text the order's answer carries, and whether the order goes on."""

    account: str | None
    code: int
    text: str
    keep: bool = False


@dataclass
class ArmedFaults:
    """Order faults waiting for their order, and the next-handshake id override."""

    pending: list[tuple[str, str | None]] = field(default_factory=list)
    next_id_override: int | None = None
    slow: list[SlowAnswer] = field(default_factory=list)
    link_lost_s: float = 5.0  # how long an armed ``link_lost_at_order`` outage lasts (simulated seconds)
    order_errors: list[OrderError] = field(default_factory=list)  # the armed ``order_error`` faults, in order

    def arm(self, kind: str, account: str | None) -> None:
        """Arm an order fault for the next order (of ``account``, or any)."""
        self.pending.append((kind, account))

    def take(self, account: str) -> set[str]:
        """Consume and return the faults that apply to an order of ``account``."""
        hits: set[str] = set()
        keep: list[tuple[str, str | None]] = []
        for kind, target in self.pending:
            if (target is None or target == account) and kind not in hits:
                hits.add(kind)
            else:
                keep.append((kind, target))
        self.pending = keep
        return hits

    def take_order_error(self, account: str) -> OrderError:
        """Consume the first ``order_error`` armed for ``account`` (``take`` said one applies)."""
        armed = next(e for e in self.order_errors if e.account in (None, account))
        self.order_errors.remove(armed)
        return armed

    def take_slow(self, request: int, client_id: int) -> SlowAnswer | None:
        """Consume the first ``slow_answer`` armed for this request of this client, if any."""
        for armed in self.slow:
            if armed.request == request and armed.client_id in (None, client_id):
                self.slow.remove(armed)
                return armed
        return None


def resolve_account(params: dict[str, object], accounts: list[str]) -> str | None:
    """The account a fault names: ``account`` directly, or ``follower: f03`` as the third managed account."""
    if params.get("account"):
        return str(params["account"])
    follower = str(params.get("follower") or "")
    if follower in accounts:
        return follower
    digits = "".join(ch for ch in follower if ch.isdigit())
    if digits and 0 < int(digits) <= len(accounts):
        return accounts[int(digits) - 1]
    return None
