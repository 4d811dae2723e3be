"""``BotStore`` on Firestore.

Reads ``heartbeats/executor``, ``signals`` (by ``date``), ``orders`` (by ``signal_id``), ``positions``,
``pnl_snapshots`` (by ``follower_id`` and ``at``), ``daily_pnl`` (by id or ``date``). Writes ``commands/{command_id}``
(+ ``published_message_id``), ``pending_confirmations/{code}`` (through ``spreadpilot.confirmations``, shared with
the admin API: a code is spent once whichever front end confirms it), ``alerts/{id}.acknowledged_by/at`` and
``audit``. Reads follower ids (ids only) to refuse an unknown one, one follower's operational fields for
``/follower`` (never its e-mail or IBAN), ``controls/*`` and the newest ``alerts``.
"""

from __future__ import annotations

from datetime import date, datetime

from google.cloud import firestore

from spreadpilot import confirmations
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.models import Command, DailyPnL, OrderIntent, PnLSnapshot, Position, Signal
from spreadpilot.store import ALERTS, CONTROLS, FOLLOWERS, GLOBAL_CONTROLS, HEARTBEATS, PNL_SNAPSHOTS, Store
from telegram_bot.ports import FollowerBrief, Heartbeat, OpenAlert

EXECUTOR_HEARTBEAT = "executor"
ALERTS_READ = 200  # the newest alerts read for /alerts: enough for a bad day's unacknowledged ones
FOLLOWER_FIELDS = tuple(f for f in FollowerBrief.model_fields if f != "id")


def _snapshot(doc: dict[str, object]) -> PnLSnapshot:
    return PnLSnapshot.model_validate({k: v for k, v in doc.items() if k in PnLSnapshot.model_fields})


class FirestoreBotStore:
    """The bot's reads and writes over the shared ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def heartbeat(self) -> Heartbeat | None:
        """The executor's last heartbeat."""
        snap = self.db.collection(HEARTBEATS).document(EXECUTOR_HEARTBEAT).get()
        return Heartbeat.model_validate(snap.to_dict()) if snap.exists else None

    def signals_on(self, day: date) -> list[Signal]:
        """Signals of ``day``."""
        return self.store.signals.where("date", "==", day.isoformat())

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        """Intents of one signal."""
        return self.store.orders.where("signal_id", "==", signal_id)

    def open_positions(self) -> list[Position]:
        """Positions with a non-zero leg."""
        return [p for p in self.store.positions.all() if any(leg.qty for leg in p.legs)]

    def latest_pnl(self, follower_id: str | None, since: datetime) -> list[PnLSnapshot]:
        """Newest snapshot since ``since`` per follower (one query per follower: index follower_id + at desc)."""
        followers = [follower_id] if follower_id else sorted(f.id for f in self.store.followers.all())
        found: list[PnLSnapshot] = []
        for fid in followers:
            query = (
                self.db.collection(PNL_SNAPSHOTS)
                .where(filter=firestore.FieldFilter("follower_id", "==", fid))
                .where(filter=firestore.FieldFilter("at", ">=", since.isoformat()))
                .order_by("at", direction=firestore.Query.DESCENDING)
                .limit(1)
            )
            found.extend(_snapshot(snap.to_dict() or {}) for snap in query.stream())
        return found

    def daily_pnl(self, day: date, follower_id: str | None) -> list[DailyPnL]:
        """Daily P&L of ``day``."""
        if follower_id:
            one = self.store.daily_pnl.get(f"{follower_id}:{day.isoformat()}")
            return [one] if one else []
        return self.store.daily_pnl.where("date", "==", day.isoformat())

    def record_command(self, command: Command) -> bool:
        """Store the command; False if it was stored and published before."""
        if self.store.commands.create(command, published_message_id=None):
            return True
        snap = self.store.commands.ref(command.command_id).get()
        return not (snap.to_dict() or {}).get("published_message_id")

    def mark_published(self, command_id: str, message_id: str) -> None:
        """Remember the Pub/Sub message id."""
        self.store.commands.ref(command_id).update({"published_message_id": message_id})

    def follower_ids(self) -> set[str]:
        """Every follower's id (the documents' ids only: no field is read)."""
        return {snap.id for snap in self.db.collection(FOLLOWERS).select([]).stream()}

    def save_confirmation(self, pending: PendingConfirmation) -> None:
        """Store a pending confirmation (a redelivered /flatten keeps the first expiry)."""
        confirmations.issue(self.db, pending)

    def get_confirmation(self, code: str) -> PendingConfirmation | None:
        """The pending confirmation of ``code``, issued here or by the web app."""
        return confirmations.read(self.db, code)

    def use_confirmation(self, code: str, command_id: str, by: str, at: datetime) -> bool:
        """Spend the code on ``command_id`` (the same command may spend it again: a redelivery)."""
        return confirmations.spend(self.db, code, command_id=command_id, by=by, at=at)

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> bool:
        """Set ``acknowledged_by``/``acknowledged_at`` on the alert."""
        ref = self.db.collection(ALERTS).document(alert_id)
        if not ref.get().exists:
            return False
        ref.update({"acknowledged_by": by, "acknowledged_at": at.isoformat()})
        return True

    def open_alerts(self, limit: int) -> list[OpenAlert]:
        """The newest alerts (a bounded read: the last ``ALERTS_READ`` by time), unacknowledged and not collapsed."""
        query = self.db.collection(ALERTS).order_by("at", direction=firestore.Query.DESCENDING).limit(ALERTS_READ)
        found = [OpenAlert.model_validate(doc) for snap in query.stream()
                 if (doc := {"alert_id": snap.id, **(snap.to_dict() or {})})]
        return [a for a in found if a.acknowledged_by is None and a.collapsed_into is None][:limit]

    def follower(self, follower_id: str) -> FollowerBrief | None:
        """The follower's operational fields (the document's others are not read into the bot)."""
        snap = self.db.collection(FOLLOWERS).document(follower_id).get(field_paths=list(FOLLOWER_FIELDS))
        return FollowerBrief.model_validate({"id": follower_id, **(snap.to_dict() or {})}) if snap.exists else None

    def entries_paused(self, follower_id: str) -> str | None:
        """The global kill switch first, then the follower's own."""
        for scope in (GLOBAL_CONTROLS, follower_id):
            doc = self.db.collection(CONTROLS).document(scope).get().to_dict() or {}
            if doc.get("entries_paused") is True:
                who = "everyone" if scope == GLOBAL_CONTROLS else "this follower"
                return f"{who}: {doc.get('reason') or 'no reason given'} (by {doc.get('updated_by') or 'unknown'})"
        return None

    def audit(self, action: str, actor: str, at: datetime, **details: object) -> None:
        """Append an audit record."""
        self.store.audit(action, actor=actor, source="telegram", at=at.isoformat(), **details)
