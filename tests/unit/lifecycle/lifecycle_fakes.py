"""In-memory stand-ins for the lifecycle's ports (Firestore, the intent store, the publisher) and a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from google.api_core.exceptions import ServiceUnavailable

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.broker import HeldPosition
from executor.lifecycle.context import Context
from executor.lifecycle.settings import LifecycleSettings
from spreadpilot.actions import OperatorAction
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.envelopes import AlertMessage, Message
from spreadpilot.ledger import BrokerReading, SettlementEvent
from spreadpilot.models import Alert, Command, Fill, Follower, OrderIntent, PnLSnapshot, Position, Right

DAY = date(2026, 3, 17)
STOCK_CON_ID = 320227571


@dataclass
class FixedClock:
    at: datetime = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)  # 11:00 New York

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    def sleep_sync(self, seconds: float) -> None:
        return None


class Failures:
    """Calls that fail as Firestore does on a bad day: ``failures.arm("set_controls", 2)`` fails the next two."""

    def __init__(self) -> None:
        self.armed: dict[str, int] = {}
        self.raised: list[str] = []

    def arm(self, method: str, times: int = 1) -> None:
        self.armed[method] = self.armed.get(method, 0) + times

    async def io(self, method: str) -> None:
        """One round trip: other tasks run meanwhile, as they do while a Firestore call is on a pool thread."""
        await asyncio.sleep(0)
        if self.armed.get(method, 0) > 0:
            self.armed[method] -= 1
            self.raised.append(method)
            raise ServiceUnavailable(f"{method}: the datastore is unavailable")


@dataclass
class MemoryLifecycleStore:
    failures: Failures = field(default_factory=Failures)
    followers_: list[Follower] = field(default_factory=list)
    entries: list[OrderIntent] = field(default_factory=list)
    positions: dict[str, dict[str, object]] = field(default_factory=dict)
    controls: dict[str, dict[str, object]] = field(default_factory=dict)
    claims: dict[str, dict[str, object]] = field(default_factory=dict)
    commands: dict[str, dict[str, object]] = field(default_factory=dict)
    audits: list[dict[str, object]] = field(default_factory=list)
    snapshots: list[PnLSnapshot] = field(default_factory=list)
    actions: dict[str, OperatorAction] = field(default_factory=dict)
    confirmations: dict[str, PendingConfirmation] = field(default_factory=dict)

    async def followers(self) -> list[Follower]:
        await self.failures.io("followers")
        return list(self.followers_)

    async def entries_for(self, day: date) -> list[OrderIntent]:
        return [i for i in self.entries if i.expiry == day]

    async def open_positions(self) -> list[Position]:
        return [Position.model_validate({k: v for k, v in doc.items() if k in Position.model_fields})
                for doc in self.positions.values() if doc.get("assignment") == "ASSIGNED"]

    async def save_position(self, position: Position, **extra: object) -> None:
        await self.failures.io("save_position")
        key = f"{position.follower_id}:{position.signal_id}"
        self.positions[key] = {**self.positions.get(key, {}), **position.to_doc(), **extra}

    async def set_controls(self, scope: str, *, entries_paused: bool, at: datetime, updated_by: str, reason: str,
                           **extra: object) -> None:
        await self.failures.io("set_controls")
        self.controls[scope] = {"entries_paused": entries_paused, "updated_at": at.isoformat(),
                                "updated_by": updated_by, "reason": reason, **extra}

    async def claim(self, key: str, **data: object) -> bool:
        await self.failures.io("claim")
        if key in self.claims:
            return False
        self.claims[key] = dict(data)
        return True

    async def claim_data(self, key: str) -> dict[str, object] | None:
        await self.failures.io("claim_data")
        return self.claims.get(key)

    async def update_claim(self, key: str, **data: object) -> None:
        await self.failures.io("update_claim")
        self.claims.setdefault(key, {}).update(data)

    async def record_command(self, command: Command, **status: object) -> None:
        await self.failures.io("record_command")
        self.commands[command.command_id] = {**command.to_doc(), **status}

    async def audit(self, action: str, *, actor: str, source: str, at: str, **details: object) -> None:
        self.audits.append({"action": action, "actor": actor, "source": source, "at": at, **details})

    async def write_snapshots(self, snapshots: Iterable[PnLSnapshot]) -> None:
        self.snapshots += list(snapshots)

    async def confirmation(self, code: str) -> PendingConfirmation | None:
        await self.failures.io("confirmation")
        return self.confirmations.get(code)

    async def create_action(self, action: OperatorAction) -> bool:
        await self.failures.io("create_action")
        if action.action_id in self.actions:
            return False
        self.actions[action.action_id] = action
        return True

    async def get_action(self, action_id: str) -> OperatorAction | None:
        await self.failures.io("get_action")
        return self.actions.get(action_id)

    async def save_action(self, action: OperatorAction) -> None:
        await self.failures.io("save_action")
        self.actions[action.action_id] = action

    async def unfinished_actions(self) -> list[OperatorAction]:
        await self.failures.io("unfinished_actions")
        return [a for a in self.actions.values() if not a.state.final]

    async def finish_command(self, command_id: str, **status: object) -> None:
        await self.failures.io("finish_command")
        self.commands[command_id] = {**self.commands.get(command_id, {}), **status}


class MemoryIntents:
    """The executor's intent store, as far as the intent book writes through to it."""

    def __init__(self, failures: Failures | None = None) -> None:
        self.intents: dict[str, OrderIntent] = {}
        self.fills: dict[str, Fill] = {}
        self.failures = failures or Failures()

    async def create_intent(self, intent: OrderIntent, epoch: int | None = None) -> bool:
        await self.failures.io("create_intent")
        if intent.intent_id in self.intents:
            return False
        self.intents[intent.intent_id] = intent
        return True

    async def save_intent(self, intent: OrderIntent, epoch: int | None = None) -> None:
        await self.failures.io("save_intent")
        self.intents[intent.intent_id] = intent

    async def put_fill(self, fill: Fill) -> None:
        self.fills[fill.exec_id] = fill

    async def get_intents(self, intent_ids: Iterable[str]) -> dict[str, OrderIntent]:
        return {i: self.intents[i] for i in intent_ids if i in self.intents}


class RecordingPublisher:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        self.messages.append(message)
        return str(len(self.messages))

    def alert_types(self) -> list[str]:
        return [m.alert.type for m in self.messages if isinstance(m, AlertMessage)]

    def alerts(self) -> list[Alert]:
        return [m.alert for m in self.messages if isinstance(m, AlertMessage)]


def settings(**overrides: object) -> LifecycleSettings:
    return LifecycleSettings(GOOGLE_CLOUD_PROJECT="test-project", **overrides)  # type: ignore[arg-type]


def context(store: MemoryLifecycleStore, clock: FixedClock | None = None, **overrides: object) -> Context:
    clock = clock or FixedClock()
    intents = MemoryIntents(store.failures)
    return Context(links={}, book=IntentBook(intents, clock), intents=intents, store=store,  # type: ignore[arg-type]
                   alerts=Alerts(RecordingPublisher(), "alerts", clock), settings=settings(**overrides), clock=clock,
                   stop=asyncio.Event())


def follower(n: int, loss_limit: str = "2000") -> Follower:
    return Follower(id=f"f{n:02d}", name=f"Follower {n}", email=f"f{n}@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id="gw-advisor", ibkr_account=f"DU{n:03d}",
                    daily_loss_limit=Decimal(loss_limit))


def option(account: str, strike: int, qty: int, right: Right = Right.PUT) -> HeldPosition:
    return HeldPosition(account, con_id=strike * 10 + (1 if right is Right.PUT else 2), qty=qty, sec_type="OPT",
                        right=right, strike=Decimal(strike), expiry=DAY)


def stock(account: str, qty: int) -> HeldPosition:
    return HeldPosition(account, con_id=STOCK_CON_ID, qty=qty, sec_type="STK")


class MemorySettlementStore:
    """Settlement events and broker readings as Firestore keeps them (create-if-absent events)."""

    def __init__(self) -> None:
        self.events: dict[str, SettlementEvent] = {}
        self.confirmations: dict[str, tuple[bool, str]] = {}
        self.readings: dict[str, BrokerReading] = {}

    async def settlements_since(self, start: datetime) -> list[SettlementEvent]:
        return [e for e in self.events.values() if e.at >= start]

    async def record_settlement(self, event: SettlementEvent) -> bool:
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        return True

    async def confirm_settlement(self, event_id: str, confirmed: bool, note: str) -> None:
        self.confirmations[event_id] = (confirmed, note)

    async def write_reading(self, reading: BrokerReading) -> None:
        self.readings[reading.doc_id] = reading
