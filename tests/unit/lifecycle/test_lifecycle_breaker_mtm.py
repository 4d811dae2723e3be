"""The daily-loss breaker and the MTM write throttle."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lifecycle_fakes import MemoryLifecycleStore, follower
from lifecycle_rig import rig, spreads

from executor.broker import BrokerDisconnected
from executor.lifecycle.breaker import breaker_tripped
from executor.lifecycle.mtm import due
from executor.lifecycle.ports import AccountPnL

NOW = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)


def loss(amount: str) -> AccountPnL:
    return AccountPnL(Decimal(amount), Decimal(amount), Decimal(0))


def test_the_breaker_trips_at_the_limit_and_a_zero_limit_never_trips() -> None:
    assert breaker_tripped(Decimal(-2000), Decimal(2000))
    assert not breaker_tripped(Decimal("-1999.99"), Decimal(2000))
    assert not breaker_tripped(Decimal(-50000), Decimal(0))


def run_breaker(flatten: bool) -> tuple[MemoryLifecycleStore, list[str], list[bool], list[str]]:
    f = follower(1, loss_limit="500")
    r = rig(spreads(1), [f], breaker_flatten=flatten)

    async def scenario() -> list[bool]:
        tripped = [await r.parts.breaker.check(f, loss("-499"), NOW), await r.parts.breaker.check(f, loss("-650"), NOW),
                   await r.parts.breaker.check(f, loss("-900"), NOW)]
        await r.settle()
        return tripped

    tripped = asyncio.run(scenario())
    closed = [str(e["ref"]) for e in r.broker.sent("combo")]
    return r.store, closed, tripped, r.alerts.alert_types()


def test_a_loss_beyond_the_limit_stops_the_followers_entries_once_and_alerts() -> None:
    store, closed, tripped, alerts = run_breaker(flatten=False)
    assert tripped == [False, True, False]
    assert store.controls["f01"]["entries_paused"] is True
    assert store.controls["f01"]["updated_by"] == "breaker"
    assert alerts == ["risk.daily_loss_breaker"]
    assert closed == []


def test_with_breaker_flatten_the_followers_positions_are_closed_too() -> None:
    store, closed, _, _ = run_breaker(flatten=True)
    assert [ref.split("-")[0] for ref in closed] == ["flatten"]
    assert store.actions["breaker-f01-2026-03-17"].state == "done"


def test_an_unchanged_pnl_is_written_again_only_after_the_silence_limit() -> None:
    reading = loss("-10")
    assert due(None, reading, NOW, 300)
    assert not due((reading, NOW), reading, NOW + timedelta(seconds=299), 300)
    assert due((reading, NOW), reading, NOW + timedelta(seconds=300), 300)
    assert due((reading, NOW), loss("-11"), NOW + timedelta(seconds=30), 300)


def test_one_accounts_failed_pnl_read_does_not_keep_the_others_from_their_breaker() -> None:
    # found wiring the fault simulator's P&L feed: a socket drop on one follower's read ended the whole MTM pass
    first, second = follower(1, loss_limit="500"), follower(2, loss_limit="500")
    r = rig(spreads(1, 2), [first, second])
    r.broker.pnl = {"DU001": BrokerDisconnected("gw-advisor: not connected"), "DU002": loss("-650")}

    async def scenario() -> int:
        written = await r.parts.mtm.pass_once(NOW)
        await r.settle()
        return written

    assert asyncio.run(scenario()) == 1
    assert r.store.controls["f02"]["entries_paused"] is True
    assert r.alerts.alert_types() == ["risk.daily_loss_breaker"]
