"""What a finished run leaves behind, in plain data: the invariants read only this.

Broker-side facts (``journal``, ``executions``, ``live_orders``, ``sent``) come from the simulated gateways and
connections, independent of what the executor believes; store facts are the raw Firestore documents; ``books`` are
the surviving processes' in-memory intents. Tests build an ``Evidence`` by hand to check that each invariant fails
on a bad outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from spreadpilot.models import OrderIntent


@dataclass(frozen=True)
class FollowerFacts:
    """A follower as the world configured it."""

    follower_id: str
    account: str
    gateway_id: str
    trades: bool  # enabled, active and valid: it should get an intent for the day
    valid: bool = True


@dataclass(frozen=True)
class ExecutionFacts:
    """One execution the broker holds at the end (every version of it)."""

    exec_id: str
    order_ref: str
    account: str
    gateway_id: str
    sec_type: str
    con_id: int
    qty: int
    price: Decimal
    commission: Decimal
    foreign: bool

    @property
    def base(self) -> str:
        """The execId up to its last dot (a correction shares it)."""
        return self.exec_id.rsplit(".", 1)[0]

    @property
    def version(self) -> int:
        """The part after the last dot."""
        tail = self.exec_id.rsplit(".", 1)[-1]
        return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True)
class LinkFacts:
    """One gateway link of a surviving process when readiness was checked."""

    pid: str
    gateway_id: str
    ready: bool
    connected: bool
    seconds_after_clear: float
    link_error: str = ""
    owned: bool = True  # holds the gateway's lease (always, for an executor without leases)


@dataclass(frozen=True)
class Strike:
    """One fault that struck: its kind, when (virtual seconds), and the documents it struck (Firestore RPCs)."""

    kind: str
    t: float
    paths: tuple[str, ...] = ()
    until: float | None = None  # when its effect ended (a slow call answers ``seconds`` later); None: at ``t``

    @property
    def ends(self) -> float:
        """When the fault's effect ended."""
        return self.t if self.until is None else self.until


@dataclass
class Evidence:
    """Everything the invariants check."""

    day: str  # YYYYMMDD
    followers: dict[str, FollowerFacts] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)  # "collection/id" → variant
    signals: list[str] = field(default_factory=list)  # signal ids published
    entry_refs: set[str] = field(default_factory=set)  # every intent id the day's signals can produce
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)  # orders/* as stored
    created: dict[str, float] = field(default_factory=dict)  # orders/* → virtual second its create committed
    struck: list[Strike] = field(default_factory=list)
    entry_opens: float = 0.0  # the virtual second new entries may first be placed
    fills: dict[str, dict[str, Any]] = field(default_factory=dict)  # fills/* as stored
    journal: list[dict[str, Any]] = field(default_factory=list)
    executions: list[ExecutionFacts] = field(default_factory=list)
    live_orders: list[dict[str, Any]] = field(default_factory=list)  # {order_ref, perm_id, account, status}
    sent: list[dict[str, Any]] = field(default_factory=list)  # order messages that left a client
    alerts: list[dict[str, Any]] = field(default_factory=list)  # {type, severity, order_ref, follower_id, …}
    books: dict[str, dict[str, OrderIntent]] = field(default_factory=dict)  # pid → intent id → intent
    links: list[LinkFacts] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    held_before: dict[str, dict[int, int]] = field(default_factory=dict)  # account → conId → qty held before today
    events: list[dict[str, Any]] = field(default_factory=list)  # the day's lifecycle events: {kind, t, command_id}
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # operator_actions/* as stored
    controls: dict[str, dict[str, Any]] = field(default_factory=dict)  # controls/* as stored
    limits: dict[str, Decimal] = field(default_factory=dict)  # follower id → daily-loss limit (0: breaker off)
    daily_pnl: dict[str, Decimal] = field(default_factory=dict)  # follower id → the broker's P&L today at the end
    start: datetime | None = None  # virtual t = 0
    notes: list[str] = field(default_factory=list)

    def ours(self) -> set[str]:
        """orderRefs that are our entry intents (by construction, or by an intent document)."""
        return self.entry_refs | {doc_id for doc_id in self.intents if f"orders/{doc_id}" not in self.malformed}

    def critical_alert_for(self, order_ref: str) -> bool:
        """A CRITICAL alert was published for ``order_ref``."""
        return any(a.get("order_ref") == order_ref and a.get("severity") == "CRITICAL" for a in self.alerts)
