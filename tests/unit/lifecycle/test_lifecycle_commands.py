"""Operator commands: persisted kill switches, a two-step flatten that runs once, idempotent by command id."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from lifecycle_fakes import FixedClock, MemoryLifecycleStore, follower
from lifecycle_rig import cmd, rig, spreads

from executor.lifecycle.commands import CommandDesk
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.errors import Retryable
from spreadpilot.models import CommandKind


class Flattens:
    """Which accounts got a close at the broker (the followers a command flattened)."""

    def __init__(self, sent: list[dict[str, object]]) -> None:
        self.sent = sent

    @property
    def calls(self) -> list[tuple[list[str], str]]:
        followers = sorted({f"f{str(e['account'])[-2:]}" for e in self.sent if "account" in e})
        return [(followers, "")] if followers else []


def desk(clock: FixedClock | None = None) -> tuple[CommandDesk, MemoryLifecycleStore, Flattens]:
    r = rig(spreads(1, 2), [follower(1), follower(2)], clock=clock)
    return r.parts.commands, r.store, Flattens(r.broker.journal)


def test_pause_writes_the_kill_switch_the_entry_path_reads_with_who_and_why() -> None:
    d, store, _ = desk()
    assert asyncio.run(d.handle(cmd("c1", CommandKind.PAUSE, scope="f02"))) == "done"
    assert store.controls["f02"]["entries_paused"] is True
    assert store.controls["f02"]["updated_by"] == "ops@example.com"
    assert store.controls["f02"]["reason"] == "why"
    assert store.commands["c1"]["status"] == "done"
    assert store.audits[0]["action"] == "executor.command.pause"
    assert store.audits[0]["source"] == "telegram"


def test_resume_of_everything_clears_the_global_switch() -> None:
    d, store, _ = desk()
    asyncio.run(d.handle(cmd("c1", CommandKind.PAUSE)))
    asyncio.run(d.handle(cmd("c2", CommandKind.RESUME)))
    assert store.controls["global"]["entries_paused"] is False


def test_a_flatten_request_alone_never_flattens() -> None:
    d, store, flattens = desk()
    assert asyncio.run(d.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, code="ABCD12"))) == "pending_confirmation"
    assert flattens.calls == []
    assert "global" not in store.controls


def test_a_confirm_with_the_requested_code_flattens_everyone_once_however_often_it_arrives() -> None:
    d, store, flattens = desk()

    async def scenario() -> list[str]:
        await d.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, code="ABCD12"))
        return [await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12")),
                await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12")),
                await d.handle(cmd("k2", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))]

    assert asyncio.run(scenario()) == ["done", "duplicate", "duplicate"]
    assert [ids for ids, _ in flattens.calls] == [["f01", "f02"]]
    assert len(flattens.sent) == 2  # one close per account
    assert store.controls["global"]["entries_paused"] is True


def test_a_confirm_for_another_scope_or_after_expiry_is_rejected() -> None:
    clock = FixedClock()
    d, _, flattens = desk(clock)

    async def scenario() -> list[str]:
        await d.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, scope="f01", code="ABCD12"))
        other_scope = await d.handle(cmd("k2", CommandKind.FLATTEN_CONFIRM, scope="all", code="ABCD12"))
        clock.at += timedelta(seconds=301)
        expired = await d.handle(cmd("k3", CommandKind.FLATTEN_CONFIRM, scope="f01", code="ABCD12"))
        return [other_scope, expired]

    assert asyncio.run(scenario()) == ["rejected", "rejected"]
    assert flattens.calls == []


def test_a_confirm_that_overtook_its_request_is_retried_then_flattens_once_the_request_is_in() -> None:
    d, _, flattens = desk()

    async def scenario() -> str:
        with pytest.raises(Retryable):
            await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))
        await d.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, code="ABCD12"))
        return await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))  # the redelivery

    assert asyncio.run(scenario()) == "done"
    assert len(flattens.calls) == 1


def test_a_confirm_whose_code_never_shows_up_is_rejected_after_the_wait() -> None:
    clock = FixedClock()
    d, _, flattens = desk(clock)

    async def scenario() -> str:
        with pytest.raises(Retryable):
            await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ZZZZ99"))
        clock.at += timedelta(seconds=61)
        return await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ZZZZ99"))

    assert asyncio.run(scenario()) == "rejected"
    assert flattens.calls == []


def test_a_confirm_whose_issued_code_is_still_valid_waits_for_a_request_held_up_longer_than_the_wait() -> None:
    # fault simulator seed 6175: the request sat with an executor whose Firestore was down for 69 s; the confirm,
    # handled by the other executor, was rejected after 60 s, and the flatten the operator confirmed never ran
    clock = FixedClock()
    d, store, flattens = desk(clock)
    store.confirmations["ABCD12"] = PendingConfirmation(
        code="ABCD12", scope="all", requested_by="ops@example.com", source="web", requested_at=clock.now(),
        expires_at=clock.now() + timedelta(seconds=300))

    async def scenario() -> str:
        with pytest.raises(Retryable):
            await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))
        clock.at += timedelta(seconds=90)
        with pytest.raises(Retryable):
            await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))
        await d.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, code="ABCD12"))
        return await d.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))

    assert asyncio.run(scenario()) == "done"
    assert len(flattens.calls) == 1


def test_close_follower_closes_that_follower_only_and_needs_a_follower() -> None:
    d, _, flattens = desk()
    assert asyncio.run(d.handle(cmd("c1", CommandKind.CLOSE_FOLLOWER, scope="f02"))) == "done"
    assert asyncio.run(d.handle(cmd("c2", CommandKind.CLOSE_FOLLOWER, scope="all"))) == "rejected"
    assert [ids for ids, _ in flattens.calls] == [["f02"]]


def test_every_command_ends_with_one_answer_alert_and_one_line_in_the_event_console() -> None:
    r = rig(spreads(1, 2), [follower(1), follower(2)])

    async def scenario() -> None:
        await r.parts.commands.handle(cmd("r1", CommandKind.FLATTEN_REQUEST, code="ABCD12"))
        await r.parts.commands.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))
        await r.parts.commands.handle(cmd("k1", CommandKind.FLATTEN_CONFIRM, code="ABCD12"))  # redelivered
        await r.settle()

    asyncio.run(scenario())
    assert r.alerts.alert_types().count("command.finished") == 1
    outcomes = [e for e in r.events.events if e.kind == "command.outcome" and e.command_id == "k1"]
    assert [e.context["state"] for e in outcomes if "state" in e.context] == ["done"]
    assert "2 follower(s) flat" in outcomes[-1].message
    assert r.store.commands["k1"]["status"] == "done"
    assert r.store.actions["flatten-ABCD12"].state == "done"
