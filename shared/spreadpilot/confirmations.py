"""Pending flatten confirmations: ONE schema for the admin API, the operator bot and the executor.

    pending_confirmations/{code} → PendingConfirmation

A flatten takes two steps. The front end that is asked (the web app through the admin API, or Telegram through the
bot) issues a code (``issue``, create-if-absent) and publishes ``flatten_request`` with it; the code is confirmed
by the operator who asked, before ``expires_at`` (real time: a person types it), and spent once whichever front end
it is typed into (``spend``: the first confirming command wins, its redelivery is the same command). The executor
reads the same document when the confirm reaches it (``read``), to check the scope it was issued for.

Documents written before this schema (the admin API stored no ``code`` field: it is the document id) read the same.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from google.api_core.exceptions import AlreadyExists, FailedPrecondition
from google.cloud import firestore
from pydantic import AwareDatetime, Field, ValidationError

from spreadpilot.models import Frozen

PENDING_CONFIRMATIONS = "pending_confirmations"
CODE_PATTERN = r"^[A-Z0-9]{4,12}$"


class PendingConfirmation(Frozen):
    """A flatten waiting for its confirmation code."""

    code: str = Field(pattern=CODE_PATTERN)
    kind: str = "flatten"
    scope: str
    requested_by: str  # the actor: an email from the web app, ``telegram:{user_id}`` from the bot
    requested_uid: str | None = None  # the web user's uid (the web app confirms by uid)
    source: str = ""  # web | telegram | …: where the code was issued, and so where it is typed back
    requested_at: AwareDatetime | None = None
    expires_at: AwareDatetime
    reason: str = ""
    details: dict[str, str] = Field(default_factory=dict)  # what the action needs beyond its scope (a manual signal)
    chat_id: int | None = None  # the Telegram chat that asked
    command_id: str = ""  # the flatten_request that carried the code
    confirmed_at: AwareDatetime | None = None
    confirmed_by: str | None = None
    confirm_command_id: str | None = None

    @property
    def issued_in(self) -> str:
        """Where the code was issued, as an operator reads it."""
        if self.source == "web" or self.requested_uid:
            return "the web app"
        if self.source == "telegram" or self.chat_id is not None:
            return "Telegram"
        return self.source or "another front end"


class Verdict(StrEnum):
    """What a confirmation attempt meets."""

    OK = "ok"
    UNKNOWN = "unknown_code"
    OTHER_REQUESTER = "wrong_requester"
    CONFIRMED = "already_confirmed"
    EXPIRED = "expired"


class MalformedConfirmation(ValueError):
    """A ``pending_confirmations`` document that does not parse; the message says which and why."""


def from_doc(code: str, doc: dict[str, Any]) -> PendingConfirmation:
    """The confirmation stored under document id ``code`` (fields of other writers ignored)."""
    fields = {k: v for k, v in doc.items() if k in PendingConfirmation.model_fields}
    fields.setdefault("code", code)
    try:
        return PendingConfirmation.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise MalformedConfirmation(f"{PENDING_CONFIRMATIONS}/{code} is malformed: {problems}"[:500]) from exc


def verdict(pending: PendingConfirmation | None, *, actor: str, uid: str | None, now: datetime) -> Verdict:
    """May ``actor`` (web ``uid``) confirm ``pending`` at ``now`` (real time)?"""
    if pending is None:
        return Verdict.UNKNOWN
    same = pending.requested_uid == uid if pending.requested_uid else pending.requested_by == actor
    if not same:
        return Verdict.OTHER_REQUESTER
    if pending.confirmed_at is not None:
        return Verdict.CONFIRMED
    if now >= pending.expires_at:
        return Verdict.EXPIRED
    return Verdict.OK


def _ref(db: firestore.Client, code: str) -> firestore.DocumentReference:
    return db.collection(PENDING_CONFIRMATIONS).document(code)


def issue(db: firestore.Client, pending: PendingConfirmation) -> bool:
    """Store a new code; False if the code is taken (a redelivered request keeps its first expiry)."""
    try:
        _ref(db, pending.code).create(pending.to_doc())
    except AlreadyExists:
        return False
    return True


def read(db: firestore.Client, code: str) -> PendingConfirmation | None:
    """The confirmation of ``code``, None if there is none; ``MalformedConfirmation`` if it does not parse."""
    snap = _ref(db, code).get()
    return from_doc(code, snap.to_dict() or {}) if snap.exists else None


def attach_command(db: firestore.Client, code: str, command_id: str) -> None:
    """Remember which ``flatten_request`` carried the code (the admin API knows it only after publishing)."""
    _ref(db, code).update({"command_id": command_id})


def spend(db: firestore.Client, code: str, *, command_id: str, by: str, at: datetime) -> bool:
    """Confirm ``code`` for ``command_id``; False if another command confirmed it first.

    The write is conditional on the version read, so of two confirmations arriving together (say one typed in the
    web app and one on Telegram) exactly one wins; the same command confirming again (a redelivery) is that one.
    """
    ref = _ref(db, code)
    snap = ref.get()
    if not snap.exists:
        return False
    doc = snap.to_dict() or {}
    if doc.get("confirmed_at"):
        return doc.get("confirm_command_id") == command_id
    try:
        ref.update({"confirmed_at": at.isoformat(), "confirmed_by": by, "confirm_command_id": command_id},
                   option=db.write_option(last_update_time=snap.update_time))
    except FailedPrecondition:
        again = ref.get().to_dict() or {}
        return again.get("confirm_command_id") == command_id
    return True
