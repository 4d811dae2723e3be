"""Foreign activity: what counts as foreign, and the once-a-day pause with one alert that it leads to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from google.api_core.exceptions import ServiceUnavailable
from lifecycle_fakes import follower
from lifecycle_rig import restart, rig, spreads

from executor.broker import BrokerTruth, Execution, HeldPosition, OrderUpdate
from executor.foreign import Foreign, foreign_execution, foreign_in
from spreadpilot.actions import OperatorAction
from spreadpilot.models import Right

ACCOUNTS = {"DU001": "f01", "DU002": "f02"}
OURS = "entry-20260317-QQQ-bull_put-644fa3c9-f01"
NOW = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)


def order(account: str, ref: str, order_id: int = 0) -> OrderUpdate:
    return OrderUpdate(ref, account, order_id, 9001, "Submitted", 0, 1, Decimal("-1.00"))


def execution(account: str, ref: str) -> Execution:
    return Execution("0001.01", ref, account, 0, 9002, 77, "OPT", Right.PUT, Decimal(485), None, "SLD", 1,
                     Decimal("1.20"), NOW)


def found(truth: BrokerTruth, known: set[str] = frozenset({OURS}), stored: set[str] = frozenset()) -> list[Foreign]:
    return foreign_in(truth, ACCOUNTS, lambda ref: ref in known or ref in stored)


@pytest.mark.parametrize("ref", ["", "hedge", "a/b//c", "__x__", "..", "entry-20260317-QQQ-bull_put-644fa3c9-f0",
                                 "x" * 300])
def test_an_order_with_any_orderref_no_intent_carries_is_foreign_and_breaks_nothing(ref: str) -> None:
    [seen] = found(BrokerTruth(open_orders=(order("DU002", ref),)))
    assert (seen.follower_id, seen.account) == ("f02", "DU002")
    assert "open order" in seen.what


def test_our_own_orders_and_executions_known_here_or_in_the_store_are_not_foreign() -> None:
    earlier = "exit-20260316-QQQ-bull_put-11aa22bb-f01"  # an intent of an earlier process, in the store
    truth = BrokerTruth(open_orders=(order("DU001", OURS),), executions=(execution("DU001", earlier),))
    assert found(truth, stored={earlier}) == []


def test_activity_outside_the_followers_accounts_is_not_ours_to_judge() -> None:
    assert found(BrokerTruth(open_orders=(order("DU999", ""),), executions=(execution("DU998", "x"),))) == []


def test_one_finding_per_account_and_a_live_execution_is_judged_without_the_store() -> None:
    truth = BrokerTruth(open_orders=(order("DU001", "a"), order("DU001", "b")), executions=(execution("DU002", ""),))
    assert [(f.account, "execution" in f.what) for f in found(truth)] == [("DU001", False), ("DU002", True)]
    assert foreign_execution(execution("DU002", ""), ACCOUNTS) is not None
    assert foreign_execution(execution("DU002", OURS), ACCOUNTS) is None  # intent-shaped: the next truth asks
    assert foreign_execution(execution("DU999", ""), ACCOUNTS) is None


def held(account: str, con_id: int, qty: int, sec_type: str = "OPT", symbol: str = "QQQ") -> HeldPosition:
    return HeldPosition(account, con_id, qty, sec_type, Right.PUT if sec_type == "OPT" else None,
                        Decimal(485) if sec_type == "OPT" else None, symbol=symbol)


def test_a_position_no_execution_of_ours_today_traded_is_foreign_and_our_legs_and_their_stock_are_not() -> None:
    ours = execution("DU001", OURS)  # conId 77, today's execution of our entry
    # our leg, and the stock its assignment delivered: ours
    assert found(BrokerTruth(executions=(ours,), positions=(held("DU001", 77, -1), held("DU001", 5, 100, "STK")))) == []
    # a hedge of the follower's own beside our leg, and stock in an account where we traded nothing today (yesterday's
    # assignment, or bought by hand): foreign, one finding per account
    truth = BrokerTruth(executions=(ours,), positions=(held("DU001", 77, -1), held("DU001", 91, 2),
                                                       held("DU002", 5, 100, "STK")))
    seen = found(truth)
    assert [(f.follower_id, f.what.split(" ")[0]) for f in seen] == [("f01", "position"), ("f02", "position")]
    assert "conId 91" in seen[0].what
    assert "STK" in seen[1].what
    # a foreign execution explains nothing: its contract's position is foreign too (reported once, as the execution)
    truth = BrokerTruth(executions=(execution("DU002", "hand"),), positions=(held("DU002", 77, -1),))
    assert ["execution" in f.what for f in found(truth)] == [True]
    assert found(BrokerTruth(positions=(held("DU999", 91, 2),))) == []  # not a follower's account
    # the follower's own AAPL shares beside our QQQ trade: not explained by it
    [aapl] = found(BrokerTruth(executions=(ours,), positions=(held("DU001", 265598, 50, "STK", "AAPL"),)))
    assert "AAPL STK" in aapl.what


def test_foreign_activity_pauses_the_followers_entries_once_a_day_with_one_critical_alert_across_a_restart() -> None:
    f1, f2 = follower(1), follower(2)
    r = rig(spreads(1, 2), [f1, f2])
    r.ctx.clock.now = lambda: NOW  # type: ignore[method-assign]
    seen = Foreign("f02", "DU002", "open order 0 (perm 9001, no orderRef, Submitted)")

    async def scenario() -> None:
        r.parts.foreign.seen(seen)
        r.parts.foreign.seen(Foreign("f02", "DU002", "execution 0001.01: SLD 1 OPT 485P at 1.20 (no orderRef)"))
        await r.settle()

    asyncio.run(scenario())
    assert r.store.controls["f02"]["entries_paused"] is True
    assert r.store.controls["f02"]["updated_by"] == "foreign-activity"
    assert "f01" not in r.store.controls
    [alert] = r.alerts.alerts()
    assert (alert.type, alert.severity, alert.follower_id) == ("follower.foreign_activity", "CRITICAL", "f02")
    assert "no orderRef" in alert.message
    assert "resume" in alert.message
    assert r.store.actions["foreign-f02-2026-03-17"].state == "done"
    assert r.broker.sent("combo") == []  # nothing is closed: the follower's own trade is theirs

    again = restart(r)
    again.ctx.clock.now = lambda: NOW  # type: ignore[method-assign]

    async def after_restart() -> None:
        await again.start()
        again.parts.foreign.seen(seen)
        await again.settle()

    asyncio.run(after_restart())
    assert again.alerts.alert_types() == []  # the day's action exists: no second pause, no second alert


def test_a_pause_whose_record_fails_or_lands_while_the_client_sees_an_error_is_tried_again_and_answered_once() -> None:
    r = rig(spreads(2), [follower(2)])
    r.ctx.clock.now = lambda: NOW  # type: ignore[method-assign]
    r.store.failures.arm("create_action", 2)  # Firestore down for two tries
    create = r.store.create_action
    landed_once = [False]

    async def lands_then_errs(action: OperatorAction) -> bool:  # then the commit lands, and its answer is lost
        created = await create(action)
        if not landed_once[0]:
            landed_once[0] = True
            raise ServiceUnavailable("create_action: deadline exceeded (the write landed)")
        return created

    r.store.create_action = lands_then_errs  # type: ignore[method-assign]

    async def scenario() -> None:
        r.parts.foreign.seen(Foreign("f02", "DU002", "open order 0 (perm 9001, no orderRef, Submitted)"))
        await asyncio.gather(*r.parts.foreign.tasks)  # the recording, with its retries
        await r.settle()

    asyncio.run(scenario())
    assert r.store.failures.raised == ["create_action", "create_action"]
    assert r.store.controls["f02"]["entries_paused"] is True
    assert r.alerts.alert_types() == ["follower.foreign_activity"]
    assert r.store.actions["foreign-f02-2026-03-17"].state == "done"
