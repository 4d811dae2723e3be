"""Firestore, one small repository per collection.

Documents are the models' JSON form (``Frozen.to_doc``), readable in the Firestore console. Idempotency keys use
``create()``, which fails with ``AlreadyExists`` when the document is there already: "done before".

Collections (document id → model):
    followers/{follower_id} → Follower            gateways/{gateway_id} → Gateway
    gateway_vms/{vm} → GatewayVm (the VM supervisor's capacity report)
    follower_cards/{follower_id} → what the web app may read of a follower (``follower_card``: no IBAN in full,
                                   no secret name), written with every follower write through this repository
    signals/{signal_id} → Signal (+ timeline)     signal_days/{YYYY-MM-DD} → the day's claim
    orders/{intent_id} → OrderIntent              fills/{execution_key} → Fill (the latest correction)
    positions/{follower_id}:{signal_id} → Position
    pnl_snapshots/{follower_id}:{epoch} → PnLSnapshot
    daily_pnl/{follower_id}:{date} → DailyPnL     monthly_pnl/{follower_id}:{YYYY-MM} → MonthlyStatement
    invoices/{follower_id}:{YYYY-MM}              statements/{follower_id}:{YYYY-MM}
    alerts/{alert_id} → Alert (+ delivery)        commands/{command_id} → Command
    controls/{global|follower_id} → kill switch   heartbeats/{component}
    audit/{auto}                                  claims/{key} → idempotency keys
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from pydantic import ValidationError

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
    execution_key,
    mask_iban,
)

M = TypeVar("M", bound=Frozen)
log = logging.getLogger(__name__)

FOLLOWERS = "followers"
FOLLOWER_CARDS = "follower_cards"
GATEWAYS = "gateways"
GATEWAY_VMS = "gateway_vms"
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
GLOBAL_CONTROLS = "global"  # controls/global: the kill switch of every follower (the others: controls/{follower_id})
HEARTBEATS = "heartbeats"
AUDIT = "audit"
CLAIMS = "claims"


def firestore_client(project: str) -> firestore.Client:
    """The Firestore client (honours ``FIRESTORE_EMULATOR_HOST``)."""
    return firestore.Client(project=project)


@dataclass(frozen=True)
class Malformed:
    """A document that does not parse as its collection's model (edited by hand, or a validator tightened later)."""

    collection: str
    doc_id: str
    error: str

    @property
    def path(self) -> str:
        """``collection/doc_id``."""
        return f"{self.collection}/{self.doc_id}"


class MalformedDocument(ValueError):
    """One document read by id does not parse as its model; the message says which and why."""

    def __init__(self, malformed: Malformed) -> None:
        super().__init__(f"document {malformed.path} is malformed: {malformed.error}")
        self.malformed = malformed


def _log_malformed(malformed: Malformed) -> None:
    log.error("malformed document skipped", extra={"document": malformed.path, "error": malformed.error})


def describe_validation(exc: ValidationError) -> str:
    """A short 'field: problem' list of what failed."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}" for e in exc.errors())[:500]


class Repository(Generic[M]):
    """Typed access to one collection whose documents are ``model``.

    Reads of many documents (``all``, ``where``, ``get_many``) skip a document that does not parse and report it to
    ``on_malformed`` (by default a log line): one bad document never stops the readers of all the others.
    """

    def __init__(self, db: firestore.Client, collection: str, model: type[M], key: Callable[[M], str],
                 on_malformed: Callable[[Malformed], None] = _log_malformed) -> None:
        self.db = db
        self.collection = collection
        self.model = model
        self.key = key
        self.on_malformed = on_malformed

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
        """The document as a model, or None; ``MalformedDocument`` if it does not parse."""
        snap = self.ref(doc_id).get()
        if not snap.exists:
            return None
        try:
            return self._parse(snap.to_dict())
        except ValidationError as exc:
            raise MalformedDocument(Malformed(self.collection, doc_id, describe_validation(exc))) from exc

    def get_many(self, doc_ids: Iterable[str]) -> dict[str, M]:
        """Several documents in one round trip; absent and malformed ones are left out (malformed: reported)."""
        refs = [self.ref(doc_id) for doc_id in doc_ids]
        return {m.key: m.item for m in self._parse_all(snap for snap in self.db.get_all(refs) if snap.exists)}

    def all(self) -> list[M]:
        """Every document of the collection that parses (the others are reported)."""
        return [m.item for m in self._parse_all(self.db.collection(self.collection).stream())]

    def where(self, field: str, op: str, value: object) -> list[M]:
        """Documents where ``field op value`` that parse (each query must have its index in terraform)."""
        query = self.db.collection(self.collection).where(filter=firestore.FieldFilter(field, op, value))
        return [m.item for m in self._parse_all(query.stream())]

    def _parse_all(self, snaps: Iterable[Any]) -> list[_Keyed[M]]:
        parsed = []
        for snap in snaps:
            try:
                parsed.append(_Keyed(snap.id, self._parse(snap.to_dict())))
            except ValidationError as exc:
                self.on_malformed(Malformed(self.collection, snap.id, describe_validation(exc)))
        return parsed

    def _parse(self, doc: Mapping[str, Any] | None) -> M:
        fields = {k: v for k, v in (doc or {}).items() if k in self.model.model_fields}
        return self.model.model_validate(fields)


def follower_card(follower: Follower) -> dict[str, object]:
    """The follower as the browser may read it (security rules allow ``follower_cards``, never ``followers``)."""
    doc = follower.to_doc()
    for private in ("iban", "ibkr_secret_name"):
        doc.pop(private, None)
    return {**doc, "iban_masked": mask_iban(follower.iban),
            "has_ibkr_credentials": follower.ibkr_secret_name is not None}


class FollowerRepository(Repository[Follower]):
    """Followers, each written together with its ``follower_cards`` projection in one batch."""

    def create(self, item: Follower, **extra: object) -> bool:
        batch = self.db.batch()
        batch.create(self.ref(item.id), {**item.to_doc(), **extra})
        batch.set(self.card_ref(item.id), follower_card(item))
        try:
            batch.commit()
        except AlreadyExists:
            return False
        return True

    def put(self, item: Follower, **extra: object) -> None:
        batch = self.db.batch()
        batch.set(self.ref(item.id), {**item.to_doc(), **extra}, merge=True)
        batch.set(self.card_ref(item.id), follower_card(item))
        batch.commit()

    def card_ref(self, follower_id: str) -> firestore.DocumentReference:
        """The ``follower_cards`` document of ``follower_id``."""
        return self.db.collection(FOLLOWER_CARDS).document(follower_id)


@dataclass(frozen=True)
class _Keyed(Generic[M]):
    key: str
    item: M


class Store:
    """The repositories of SpreadPilot's collections over one Firestore client.

    ``on_malformed`` hears of every document a many-document read skipped because it does not parse.
    """

    def __init__(self, db: firestore.Client, on_malformed: Callable[[Malformed], None] = _log_malformed) -> None:
        self.db = db
        self.on_malformed = on_malformed
        def repo(collection: str, model: type[M], key: Callable[[M], str]) -> Repository[M]:
            return Repository(db, collection, model, key, lambda malformed: self.on_malformed(malformed))

        self.followers = FollowerRepository(db, FOLLOWERS, Follower, lambda f: f.id,
                                            lambda malformed: self.on_malformed(malformed))
        self.gateways = repo(GATEWAYS, Gateway, lambda g: g.id)
        self.signals = repo(SIGNALS, Signal, lambda s: s.signal_id)
        self.orders = repo(ORDERS, OrderIntent, lambda o: o.intent_id)
        self.fills = repo(FILLS, Fill, lambda f: execution_key(f.exec_id))  # a correction replaces
        self.positions = repo(POSITIONS, Position, lambda p: f"{p.follower_id}:{p.signal_id or 'none'}")
        self.pnl_snapshots = repo(
            PNL_SNAPSHOTS, PnLSnapshot, lambda s: f"{s.follower_id}:{int(s.at.timestamp())}"
        )
        self.daily_pnl = repo(DAILY_PNL, DailyPnL, lambda d: f"{d.follower_id}:{d.date.isoformat()}")
        self.monthly_pnl = repo(MONTHLY_PNL, MonthlyStatement, lambda m: f"{m.follower_id}:{m.month}")
        self.alerts = repo(ALERTS, Alert, lambda a: a.alert_id)
        self.commands = repo(COMMANDS, Command, lambda c: c.command_id)

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
