"""Operator actions (pause/resume, flatten, close one follower, reconcile, the breaker's trip) as the executor
persists them in ``operator_actions/{action_id}``, and the final state their requester sees.

The executor creates the document before the action does anything and drives it part by part
(``executor.lifecycle.actions``); the admin API and the bot only read it. States: ``in_progress``, then ``done``,
``partly_done`` (the note names every part left and why) or ``failed``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime

from spreadpilot.models import Frozen, Id

OPERATOR_ACTIONS = "operator_actions"


class ActionKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    CLOSE_FOLLOWER = "close_follower"
    RECONCILE = "reconcile"
    BREAKER = "breaker"
    FOREIGN_ACTIVITY = "foreign_activity"  # an order or execution no intent explains paused the follower's entries


class ActionState(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"
    PARTLY_DONE = "partly_done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """The action has ended (nothing of it runs any more)."""
        return self is not ActionState.IN_PROGRESS


class PartState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class ActionPart(Frozen):
    """One isolated piece of an action: ``controls:{scope}``, ``flatten:{follower_id}``, ``reconcile:{gateway}``."""

    key: str
    phase: int = 0
    state: PartState = PartState.PENDING
    attempts: int = 0
    note: str = ""

    @property
    def subject(self) -> str:
        """What the part acts on (the follower id, the kill switch, the gateway)."""
        return self.key.partition(":")[2]


class OperatorAction(Frozen):
    """What an operator (or the breaker) asked for, who asked, and how far it got."""

    action_id: Id
    kind: ActionKind
    scope: str
    reason: str = ""
    requested_by: str
    source: str
    command_id: str | None = None
    # set on the part of an action handed to the executor that holds the part's gateway (``{parent}:{subject}``):
    # that executor does it and records the end here; only the parent action answers the operator
    parent: str | None = None
    parts: tuple[ActionPart, ...]
    state: ActionState = ActionState.IN_PROGRESS
    note: str = ""
    created_at: AwareDatetime
    updated_at: AwareDatetime
    finished_at: AwareDatetime | None = None

    def part(self, key: str) -> ActionPart:
        """The part named ``key``."""
        return next(p for p in self.parts if p.key == key)

    def with_part(self, part: ActionPart, at: datetime) -> OperatorAction:
        """A copy with ``part`` replacing the part of the same key."""
        parts = tuple(part if p.key == part.key else p for p in self.parts)
        return self.model_copy(update={"parts": parts, "updated_at": at})

    def finished(self, at: datetime) -> OperatorAction:
        """The action ended: its state and note from its parts."""
        state, note = outcome(self.parts)
        return self.model_copy(update={"state": state, "note": note, "updated_at": at, "finished_at": at})


def outcome(parts: tuple[ActionPart, ...]) -> tuple[ActionState, str]:
    """``done`` / ``partly_done`` / ``failed`` and the note that says it (every part left is named, with why)."""
    done = [p for p in parts if p.state is PartState.DONE]
    left = [p for p in parts if p.state is not PartState.DONE]
    if not left:
        return ActionState.DONE, "done: " + _summary(done)
    named = "; ".join(f"{p.subject or p.key}: {p.note or 'not done'}" for p in left)
    if not done:
        return ActionState.FAILED, f"failed: {named}"
    return ActionState.PARTLY_DONE, f"partly done: {_summary(done)}; NOT done: {named}"


def _summary(parts: list[ActionPart]) -> str:
    flats = [p for p in parts if p.key.startswith("flatten:")]
    others = [p for p in parts if not p.key.startswith("flatten:")]
    words = [f"{p.subject or p.key} {p.note}".strip() for p in others]
    if flats:
        words.append(f"{len(flats)} follower(s) flat")
    return ", ".join(words) or "nothing to do"
