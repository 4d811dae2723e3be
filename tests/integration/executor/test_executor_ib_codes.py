"""Every code in the adapter's catalogue (``executor.ib.codes``), sent by ibsim to the real adapter (``IBBroker`` over
ib_async): a refusal ends a placement as ``OrderRejected`` with IB's text, a code that leaves the order's fate open
ends it as ``OutcomeUnknown`` (reconcile, never a blind resend), an informational one leaves the order working, and
a connectivity one reaches the gateway link. A code not in the catalogue fails closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from executor.broker import (
    BrokerListener,
    Combo,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderUpdate,
    OutcomeUnknown,
)
from executor.ib import IBBroker
from executor.ib.codes import CATALOGUE, CONNECTIVITY_LINK, Kind, classify
from ibsim.config import FillMode, SimConfig
from ibsim.simulator import Simulator
from ibsim.testing import simulator_in_process
from spreadpilot.models import Right

START = "2026-03-17T10:00:00-04:00"
DAY = date(2026, 3, 17)
GUARD_S = 20.0
UNKNOWN_CODE = 9731  # in no IB list: what a new gateway version might send

ORDER_CODES = sorted(c.code for c in CATALOGUE.values() if c.kind is not Kind.CONNECTIVITY)
SESSION_CODES = sorted(c.code for c in CATALOGUE.values() if c.kind is Kind.CONNECTIVITY)


class Seen:
    """What the adapter told the gateway link."""

    def __init__(self) -> None:
        self.orders: list[OrderUpdate] = []
        self.connection: list[int] = []
        self.farms: list[tuple[int, str]] = []

    def listener(self) -> BrokerListener:
        return BrokerListener(on_order=self.orders.append, on_execution=lambda e: None,
                              on_connection=lambda code, message: self.connection.append(code),
                              on_farm=lambda code, message: self.farms.append((code, message)),
                              may_send=lambda: True)


@asynccontextmanager
async def adapter(fill_mode: FillMode = FillMode.NEVER) -> AsyncIterator[tuple[Simulator, IBBroker, Seen]]:
    config = SimConfig(accounts=["DU001"], port=0, underlying=480.0, volatility=0.30, fill_mode=fill_mode)
    async with simulator_in_process(config, start=START) as sim:
        broker, seen = IBBroker("gw", "127.0.0.1", sim.port, 7, ack_timeout_s=5.0), Seen()
        broker.set_listener(seen.listener())
        await broker.connect()
        await broker.truth()
        try:
            yield sim, broker, seen
        finally:
            await broker.disconnect()


async def spread(broker: IBBroker) -> Combo:
    return await broker.qualify("QQQ", DAY, Right.PUT, Decimal(479), Decimal(474))


def request(combo: Combo, ref: str = "entry-codes-f01") -> OrderRequest:
    return OrderRequest(ref, "DU001", combo, "BUY", 1, Decimal("-0.50"))


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 60))


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(GUARD_S):
        while not predicate():  # noqa: ASYNC110 - the adapter's updates are callbacks: no event to await
            await asyncio.sleep(0.02)


def text_of(code: int) -> str:
    return f"simulated message {code}: {classify(code).meaning}"


async def place_against(code: int, keep: bool) -> tuple[Simulator, OrderAck | BaseException, Seen]:
    async with adapter() as (sim, broker, seen):
        combo = await spread(broker)
        sim.inject("order_error", code=code, text=text_of(code), keep=keep)
        try:
            outcome: OrderAck | BaseException = await broker.place(request(combo))
        except (OrderRejected, OutcomeUnknown) as exc:
            outcome = exc
        await broker.ib.reqCurrentTimeAsync()  # everything the simulator sent about the order has arrived
        return sim, outcome, seen


def test_the_catalogue_names_every_code_the_issue_lists_and_unknown_codes_fail_closed() -> None:
    required = {103, 110, 161, 200, 201, 202, 321, 326, 460, 1100, 1101, 1102, *range(2103, 2111),
                10043, 10058, 10147, 10148, 10349}
    assert required <= set(CATALOGUE)
    assert classify(UNKNOWN_CODE).kind is Kind.RECONCILE
    assert not classify(UNKNOWN_CODE).known


@pytest.mark.parametrize("code", ORDER_CODES, ids=lambda c: f"{c}-{classify(c).kind}")
def test_a_code_on_a_new_order_ends_its_placement_as_its_class_says(code: int) -> None:
    kind = classify(code).kind
    # a refusal or a doubt: the order is not placed; informational: the order goes on and the message follows
    keep = kind is Kind.INFORMATIONAL

    async def body() -> None:
        sim, outcome, seen = await place_against(code, keep)
        if kind is Kind.TERMINAL:
            assert isinstance(outcome, OrderRejected)
            assert outcome.reason == f"{code}: {text_of(code)}"  # IB's own text, not a guess
        elif kind is Kind.INFORMATIONAL:
            assert isinstance(outcome, OrderAck)
            assert outcome.status in ("PreSubmitted", "Submitted")
            assert [o.order_ref for o in sim.broker.orders.values()] == ["entry-codes-f01"]  # working
            assert all(u.status not in ("Inactive", "Cancelled") for u in seen.orders)
        else:  # RECONCILE and RETRY: the adapter does not know; reconciliation must ask the broker
            assert isinstance(outcome, OutcomeUnknown)
            assert str(code) in str(outcome)
        assert all(u.status != "Inactive" for u in seen.orders) or kind is Kind.TERMINAL

    run(body)


def test_an_unknown_code_on_a_new_order_fails_closed_to_reconciliation_never_to_a_rejection() -> None:
    async def body() -> None:
        _, outcome, seen = await place_against(UNKNOWN_CODE, keep=False)
        assert isinstance(outcome, OutcomeUnknown)
        assert "unknown code" in str(outcome)
        assert [u.status for u in seen.orders if u.status in ("Inactive", "Cancelled")] == []

    run(body)


@pytest.mark.parametrize("code", [110, 321, 105, UNKNOWN_CODE], ids=lambda c: f"{c}-on-a-modify")
def test_a_refused_modify_leaves_the_order_working_and_the_adapter_in_doubt_or_refused_never_rejecting_the_order(
        code: int) -> None:
    async def body() -> None:
        async with adapter() as (sim, broker, seen):
            combo = await spread(broker)
            ack = await broker.place(request(combo))
            assert ack.status in ("PreSubmitted", "Submitted")
            sim.inject("order_error", code=code, text=text_of(code))
            with pytest.raises((OrderRejected, OutcomeUnknown)):
                await broker.modify("entry-codes-f01", Decimal("-0.45"))
            await broker.ib.reqCurrentTimeAsync()
            [working] = sim.broker.orders.values()
            assert not working.is_done
            assert working.limit == Decimal("-0.50")  # the modify was not applied
            assert [u.status for u in seen.orders if u.status in ("Inactive", "Cancelled", "Filled")] == []

    run(body)


@pytest.mark.parametrize("code", SESSION_CODES, ids=lambda c: f"{c}-{classify(c).kind}")
def test_a_connectivity_code_reaches_the_gateway_link_only_for_the_link_to_ibkr_and_ends_no_order(code: int) -> None:
    async def body() -> None:
        async with adapter() as (sim, broker, seen):
            combo = await spread(broker)
            await broker.place(request(combo))
            sim.inject("system_message", code=code, text=text_of(code))
            marker = await broker.ib.reqCurrentTimeAsync()  # the message, if any, has arrived before this answer
            assert marker is not None
            assert seen.connection == ([code] if code in CONNECTIVITY_LINK else [])
            [working] = sim.broker.orders.values()
            assert not working.is_done
            assert [u.status for u in seen.orders if u.status in ("Inactive", "Cancelled")] == []

    run(body)


def test_202_after_a_cancel_ends_the_order_as_cancelled_not_rejected() -> None:
    async def body() -> None:
        async with adapter() as (_, broker, seen):
            combo = await spread(broker)
            await broker.place(request(combo))
            await broker.cancel("entry-codes-f01")
            await until(lambda: any(u.status == "Cancelled" for u in seen.orders))
            assert "Inactive" not in [u.status for u in seen.orders]

    run(body)


def test_a_data_farm_status_reaches_the_gateway_link_with_the_farms_name() -> None:
    async def body() -> None:
        async with adapter() as (sim, broker, seen):
            connected = list(seen.farms)  # the session was told each farm's state on connecting
            sim.inject("system_message", code=2103, text="Market data farm connection is broken:usopt")
            assert await broker.ib.reqCurrentTimeAsync() is not None  # the message has arrived before this answer
            assert {code for code, _ in connected} <= {2104, 2106, 2158}
            assert seen.farms[len(connected):] == [(2103, "Market data farm connection is broken:usopt")]

    run(body)
