"""Firestore, one small repository per collection.

Documents are the models' JSON form (``Frozen.to_doc``), readable in the Firestore console. Idempotency keys use
``create()``, which fails with ``AlreadyExists`` when the document is there already: "done before".

Collections (document id → model):
    followers/{follower_id} → Follower            gateways/{gateway_id} → Gateway
    signals/{signal_id} → Signal (+ timeline)     signal_days/{YYYY-MM-DD} → the day's claim
    orders/{intent_id} → OrderIntent              fills/{exec_id} → Fill
    positions/{follower_id}:{signal_id} → Position
    pnl_snapshots/{follower_id}:{epoch} → PnLSnapshot
    daily_pnl/{follower_id}:{date} → DailyPnL     monthly_pnl/{follower_id}:{YYYY-MM} → MonthlyStatement
    invoices/{follower_id}:{YYYY-MM}              statements/{follower_id}:{YYYY-MM}
    alerts/{alert_id} → Alert (+ delivery)        commands/{command_id} → Command
    controls/{global|follower_id} → kill switch   heartbeats/{component}
    audit/{auto}                                  claims/{key} → idempotency keys
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from spreadpilot.models import (
    Alert,
    Command,
    DailyPnL,
    Fill,
    Follower,
    Frozen,
    Gateway,
    MonthlyStatement,
    OrderIntent,
    PnLSnapshot,
    Position,
    Signal,
)

M = TypeVar("M", bound=Frozen)

FOLLOWERS = "followers"
GATEWAYS = "gateways"
SIGNALS = "signals"
SIGNAL_DAYS = "signal_days"
ORDERS = "orders"
FILLS = "fills"
POSITIONS = "positions"
PNL_SNAPSHOTS = "pnl_snapshots"
DAILY_PNL = "daily_pnl"
MONTHLY_PNL = "monthly_pnl"
INVOICES = "invoices"
STATEMENTS = "statements"
ALERTS = "alerts"
COMMANDS = "commands"
CONTROLS = "controls"
HEARTBEATS = "heartbeats"
AUDIT = "audit"
CLAIMS = "claims"


def firestore_client(project: str) -> firestore.Client:
    """The Firestore client (honours ``FIRESTORE_EMULATOR_HOST``)."""
    return firestore.Client(project=project)


class Repository(Generic[M]):
    """Typed access to one collection whose documents are ``model``."""

    def __init__(self, db: firestore.Client, collection: str, model: type[M], key: Callable[[M], str]) -> None:
        self.db = db
        self.collection = collection
        self.model = model
        self.key = key

    def ref(self, doc_id: str) -> firestore.DocumentReference:
        """The document reference of ``doc_id``."""
        return self.db.collection(self.collection).document(doc_id)

    def create(self, item: M, **extra: object) -> bool:
        """Create the document if absent; False if it already existed (the idempotency check)."""
        try:
            self.ref(self.key(item)).create({**item.to_doc(), **extra})
        except AlreadyExists:
            return False
        return True

    def put(self, item: M, **extra: object) -> None:
        """Write the whole document (fields not in the model, e.g. a timeline, are kept with merge)."""
        self.ref(self.key(item)).set({**item.to_doc(), **extra}, merge=True)

    def get(self, doc_id: str) -> M | None:
        """The document as a model, or None."""
        snap = self.ref(doc_id).get()
        return self._parse(snap.to_dict()) if snap.exists else None

    def get_many(self, doc_ids: Iterable[str]) -> dict[str, M]:
        """Several documents in one round trip; absent ones are left out."""
        refs = [self.ref(doc_id) for doc_id in doc_ids]
        return {snap.id: self._parse(snap.to_dict()) for snap in self.db.get_all(refs) if snap.exists}

    def all(self) -> list[M]:
        """Every document of the collection."""
        return [self._parse(snap.to_dict()) for snap in self.db.collection(self.collection).stream()]

    def where(self, field: str, op: str, value: object) -> list[M]:
        """Documents where ``field op value`` (each query must have its index in terraform)."""
        query = self.db.collection(self.collection).where(filter=firestore.FieldFilter(field, op, value))
        return [self._parse(snap.to_dict()) for snap in query.stream()]

    def _parse(self, doc: Mapping[str, Any] | None) -> M:
        fields = {k: v for k, v in (doc or {}).items() if k in self.model.model_fields}
        return self.model.model_validate(fields)


class Store:
    """The repositories of SpreadPilot's collections over one Firestore client."""

    def __init__(self, db: firestore.Client) -> None:
        self.db = db
        self.followers = Repository(db, FOLLOWERS, Follower, lambda f: f.id)
        self.gateways = Repository(db, GATEWAYS, Gateway, lambda g: g.id)
        self.signals = Repository(db, SIGNALS, Signal, lambda s: s.signal_id)
        self.orders = Repository(db, ORDERS, OrderIntent, lambda o: o.intent_id)
        self.fills = Repository(db, FILLS, Fill, lambda f: f.exec_id)
        self.positions = Repository(db, POSITIONS, Position, lambda p: f"{p.follower_id}:{p.signal_id or 'none'}")
        self.pnl_snapshots = Repository(
            db, PNL_SNAPSHOTS, PnLSnapshot, lambda s: f"{s.follower_id}:{int(s.at.timestamp())}"
        )
        self.daily_pnl = Repository(db, DAILY_PNL, DailyPnL, lambda d: f"{d.follower_id}:{d.date.isoformat()}")
        self.monthly_pnl = Repository(db, MONTHLY_PNL, MonthlyStatement, lambda m: f"{m.follower_id}:{m.month}")
        self.alerts = Repository(db, ALERTS, Alert, lambda a: a.alert_id)
        self.commands = Repository(db, COMMANDS, Command, lambda c: c.command_id)

    def claim(self, key: str, **data: object) -> bool:
        """Claim an idempotency key; True the first time, False ever after."""
        try:
            self.db.collection(CLAIMS).document(key).create({"claimed_at": firestore.SERVER_TIMESTAMP, **data})
        except AlreadyExists:
            return False
        return True

    def claim_data(self, key: str) -> dict[str, Any] | None:
        """What was stored with a claim, or None if it was never claimed."""
        snap = self.db.collection(CLAIMS).document(key).get()
        return cast("dict[str, Any]", snap.to_dict()) if snap.exists else None

    def update_claim(self, key: str, **data: object) -> None:
        """Record progress on a claimed key (e.g. the publish message id)."""
        self.db.collection(CLAIMS).document(key).set(data, merge=True)

    def audit(self, action: str, *, actor: str, source: str, at: str, **details: object) -> None:
        """Append one audit record (who did what, when, from where)."""
        self.db.collection(AUDIT).add({"action": action, "actor": actor, "source": source, "at": at, **details})
