"""Operator actions as persisted intents, driven to completion part by part (the model is ``spreadpilot.actions``).

An action (``operator_actions/{action_id}`` → ``OperatorAction``) is created create-if-absent before anything it
does: that record says "this action exists", never "it is done". Its parts (one kill switch, one follower's flatten,
one gateway's reconciliation) run phase by phase (a flatten pauses entries before it closes anything); each part is
isolated from the others and retried with backoff up to ``action_attempts`` times (a breaker trip's parts until they
are done: after that many attempts one CRITICAL ``risk.breaker_unfinished`` says what is not done yet, and the trying
goes on, through a restart if need be). The action then ends:

    done          every part is done
    partly_done   some parts are done, the others failed after their attempts (the note names each and why)
    failed        no part could be done

The end is answered with ONE alert (and one ``command.outcome`` line in the event console the web app shows), so
the requester hears back whatever happened
(``command.finished`` WARNING when done, ``command.unfinished`` CRITICAL naming what is left; a breaker's answer is
its ``risk.daily_loss_breaker`` CRITICAL), then written to the action, merged into the requesting command
(``commands/{command_id}``: status, note, action_id, finished_at: what the web app shows) and audited. The answer is
claimed first (``claims/answer-{action_id}``), so an action driven twice (a redelivery to a second executor while the
first one's writes hung, a resume) answers once. An action still ``in_progress`` when a process starts (a restart, a
SIGKILL, a stop mid-way) is resumed by it; a part that is done is not done again.

With several executors (each holding some gateways' leases), a part on a gateway another executor holds is handed
to it as a sub-action (``parent`` set, one part): the holder adopts it on its next pass (``adopt``, every
``monitor_s``), does it and records its end; the parent's part waits for that end. A sub-action never answers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from executor.lifecycle.context import Context, note_event, sleep_or_stop
from spreadpilot.actions import ActionKind, ActionPart, ActionState, OperatorAction, PartState
from spreadpilot.models import Severity

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 5  # the final state of an action is written this many times before the next start resumes it
MAX_BACKOFF_STEPS = 12  # a part waits at most this many times ``action_retry_s`` between two attempts
PERSISTENT = frozenset({ActionKind.BREAKER})  # kinds whose parts are retried until done (never "failed")


class ActionStore(Protocol):
    """Where actions live (``operator_actions``), and the command each one answers."""

    async def create_action(self, action: OperatorAction) -> bool:
        """Create ``operator_actions/{action_id}``; False if it existed."""
        ...

    async def get_action(self, action_id: str) -> OperatorAction | None:
        """The stored action, None if absent."""
        ...

    async def save_action(self, action: OperatorAction) -> None:
        """Write the action's current state."""
        ...

    async def unfinished_actions(self) -> list[OperatorAction]:
        """Actions still in progress (a process ended before they did)."""
        ...

    async def finish_command(self, command_id: str, **status: object) -> None:
        """Merge the action's end into ``commands/{command_id}``."""
        ...

    async def audit(self, action: str, *, actor: str, source: str, at: str, **details: object) -> None:
        """Append one audit record."""
        ...


class Impossible(RuntimeError):
    """A part that retrying cannot do (its follower is gone, its gateway is driven elsewhere): it fails now."""


PartWork = Callable[[OperatorAction, ActionPart], Awaitable[str]]  # the part's note once done; raises to retry
Here = Callable[[OperatorAction], Awaitable[bool]]  # this process may do every part of the action (its gateways)
ANSWER_CLAIM_ATTEMPTS = 3  # a claim that cannot be written is tried this often, then the answer goes out anyway


async def _everywhere(action: OperatorAction) -> bool:
    return True


class ActionDesk:
    """Begins, drives, resumes and answers operator actions; one task per action in this process."""

    def __init__(self, ctx: Context, store: ActionStore, work: PartWork, here: Here = _everywhere) -> None:
        self.ctx = ctx
        self.store = store
        self.work = work
        self.here = here
        self.running: dict[str, asyncio.Task[OperatorAction]] = {}
        self.current: dict[str, OperatorAction] = {}
        self._dirty: set[str] = set()
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def begin(self, action: OperatorAction) -> tuple[OperatorAction, bool]:
        """Record ``action`` before it does anything; (the stored action, True if it is new)."""
        if action.action_id in self.current:
            return self.current[action.action_id], False
        if await self.store.create_action(action):
            return action, True
        stored = await self.store.get_action(action.action_id)
        return stored or action, False

    def run(self, action: OperatorAction) -> asyncio.Task[OperatorAction]:
        """Drive ``action`` to its end (joined if it already runs here)."""
        task = self.running.get(action.action_id)
        if task is not None:
            return task
        self.current.setdefault(action.action_id, action)
        task = asyncio.get_running_loop().create_task(self._drive(action.action_id), name=f"action:{action.action_id}")
        self.running[action.action_id] = task
        task.add_done_callback(lambda _: self.running.pop(action.action_id, None))
        return task

    async def resume(self) -> int:
        """Resume every action an earlier process left in progress (sub-actions are ``adopt``'s); how many."""
        unfinished = [a for a in await self.store.unfinished_actions() if a.parent is None]
        for action in unfinished:
            log.warning("resuming an unfinished operator action", extra={"action_id": action.action_id,
                                                                          "kind": str(action.kind)})
            self.run(action)
        return len(unfinished)

    async def adopt(self) -> int:
        """Run the sub-actions handed to the holder of gateways this process holds; how many it took up."""
        taken = 0
        for action in await self.store.unfinished_actions():
            if action.parent is None or action.action_id in self.running or not await self.here(action):
                continue
            log.info("taking up a part of an operator action", extra={"action_id": action.action_id,
                                                                      "parent": action.parent})
            self.run(action)
            taken += 1
        return taken

    def tasks(self) -> list[asyncio.Task[OperatorAction]]:
        """The actions running now."""
        return list(self.running.values())

    async def _drive(self, action_id: str) -> OperatorAction:
        action = self.current[action_id]
        for phase in sorted({p.phase for p in action.parts}):
            keys = [p.key for p in self.current[action_id].parts if p.phase == phase and p.state is PartState.PENDING]
            await asyncio.gather(*(self._part(action_id, key) for key in keys))
            if self.ctx.stop.is_set():
                log.warning("stopping mid-action; the next start resumes it", extra={"action_id": action_id})
                return self.current[action_id]
        final = self.current[action_id].finished(self.ctx.clock.now())
        self.current[action_id] = final
        if final.parent is None:  # a sub-action's end is its parent's to tell
            await self._answer(final)
        await self._write_final(final)
        log.info("operator action finished", extra={"action_id": action_id, "state": str(final.state),
                                                    "note": final.note[:500]})
        self.current.pop(action_id, None)
        return final

    async def _part(self, action_id: str, key: str) -> None:
        while not self.ctx.stop.is_set():
            action = self.current[action_id]
            part = action.part(key)
            if part.state is not PartState.PENDING:
                return
            try:
                note = await self.work(action, part)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one part's failure never stops the others; it is retried, then reported
                attempts = part.attempts + 1
                why = _describe(exc)
                log.warning("operator action part failed", exc_info=exc,
                            extra={"action_id": action_id, "part": key, "attempt": attempts, "error": why})
                exhausted = attempts >= self.ctx.settings.action_attempts
                # the breaker never gives up on a kill switch: it says so once, and keeps trying until it is written
                failed = (exhausted and action.kind not in PERSISTENT) or isinstance(exc, Impossible)
                self._set(action_id, part.model_copy(update={
                    "attempts": attempts, "note": why, "state": PartState.FAILED if failed else PartState.PENDING}))
                if failed:
                    return
                if attempts == self.ctx.settings.action_attempts:
                    await self.ctx.alerts.send("risk.breaker_unfinished", Severity.CRITICAL,
                                               f"{action.reason}: {part.subject} not done yet ({why}); still trying",
                                               follower_id=_follower_of(action), action_id=action_id)
                steps = min(2 ** (attempts - 1), MAX_BACKOFF_STEPS)
                await sleep_or_stop(self.ctx, self.ctx.settings.action_retry_s * steps)
                continue
            self._set(action_id, part.model_copy(update={"state": PartState.DONE, "note": note,
                                                         "attempts": part.attempts + 1}))
            return

    def _set(self, action_id: str, part: ActionPart) -> None:
        self.current[action_id] = self.current[action_id].with_part(part, self.ctx.clock.now())
        self._dirty.add(action_id)
        writer = self._writers.get(action_id)
        if writer is None or writer.done():
            self._writers[action_id] = asyncio.get_running_loop().create_task(self._write_progress(action_id))

    async def _write_progress(self, action_id: str) -> None:
        """Write the latest state while it keeps changing: one write in flight per action, never a backlog."""
        while action_id in self._dirty:
            self._dirty.discard(action_id)
            action = self.current.get(action_id)
            if action is None or action.state.final:
                return
            try:
                await self.store.save_action(action)
            except Exception as exc:  # progress is also in memory; the next write (or the final one) carries it
                log.warning("operator action progress not written", exc_info=exc, extra={"action_id": action_id})
                return

    async def _answer(self, action: OperatorAction) -> None:
        if not await self._first_answer(action):
            log.info("operator action answered already", extra={"action_id": action.action_id})
            return
        type_, severity, message = answer(action)
        await self.ctx.alerts.send(type_, severity, message, follower_id=_follower_of(action),
                                   action_id=action.action_id, command_id=action.command_id or "",
                                   state=str(action.state))
        await note_event(self.ctx, "command.outcome", message, severity=severity,
                         key=f"{action.action_id}|{action.state}", follower_id=_follower_of(action),
                         command_id=action.command_id,
                         context={"action_id": action.action_id, "kind": str(action.kind), "state": str(action.state)})

    async def _first_answer(self, action: OperatorAction) -> bool:
        """Claim the answer; False if another drive of the action answered it (a claim that cannot be written
        lets the answer go out: better twice than never). The claim carries this drive's token, so a claim that
        landed while this drive saw an error is recognised as its own on the retry, not taken for another's."""
        key, token = f"answer-{action.action_id}", uuid.uuid4().hex
        for attempt in range(1, ANSWER_CLAIM_ATTEMPTS + 1):
            try:
                if await self.ctx.store.claim(key, state=str(action.state), at=self.ctx.clock.now().isoformat(),
                                              token=token):
                    return True
                return attempt > 1 and (await self.ctx.store.claim_data(key) or {}).get("token") == token
            except Exception as exc:  # any store error: retried, then the answer goes out
                log.warning("answer claim not written", exc_info=exc,
                            extra={"action_id": action.action_id, "attempt": attempt})
                await sleep_or_stop(self.ctx, self.ctx.settings.action_retry_s)
        return True

    async def _write_final(self, action: OperatorAction) -> None:
        writer = self._writers.pop(action.action_id, None)
        if writer is not None:
            await asyncio.gather(writer, return_exceptions=True)
        self._dirty.discard(action.action_id)
        at = action.finished_at.isoformat() if action.finished_at else ""
        steps: list[Callable[[], Awaitable[None]]] = [lambda: self.store.save_action(action)]
        if action.command_id:
            command_id = action.command_id
            steps.append(lambda: self.store.finish_command(command_id, status=str(action.state), note=action.note,
                                                           action_id=action.action_id, finished_at=at))
        steps.append(lambda: self.store.audit(f"executor.action.{action.kind}", actor=action.requested_by,
                                              source=action.source, at=at, action_id=action.action_id,
                                              command_id=action.command_id, scope=action.scope,
                                              state=str(action.state), note=action.note[:1000]))
        for step in steps:
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    await step()
                    break
                except Exception as exc:  # the answer went out already; the next start finds it and ends it again
                    log.warning("operator action end not written", exc_info=exc,
                                extra={"action_id": action.action_id, "attempt": attempt})
                    await sleep_or_stop(self.ctx, self.ctx.settings.action_retry_s * attempt)


def answer(action: OperatorAction) -> tuple[str, Severity, str]:
    """The one alert that answers a finished action: (type, severity, message)."""
    who = f"{action.kind} {action.scope}" + (f" (command {action.command_id})" if action.command_id else "")
    if action.kind is ActionKind.BREAKER:
        return "risk.daily_loss_breaker", Severity.CRITICAL, f"{action.reason}: {action.note}"
    if action.kind is ActionKind.FOREIGN_ACTIVITY:
        return ("follower.foreign_activity", Severity.CRITICAL,
                f"{action.reason}: {action.note}; check the account, then resume the follower's entries")
    if action.state is ActionState.DONE:
        return "command.finished", Severity.WARNING, f"{who} by {action.requested_by}: {action.note}"
    return "command.unfinished", Severity.CRITICAL, f"{who} by {action.requested_by}: {action.note}"


def _follower_of(action: OperatorAction) -> str | None:
    return action.scope if action.scope not in ("all", "") else None


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
