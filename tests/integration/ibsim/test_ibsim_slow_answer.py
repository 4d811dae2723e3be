"""The ``slow_answer`` fault: one request's answer is held back, whole, while the connection keeps serving others."""

from __future__ import annotations

import asyncio

import pytest
from ibsim_harness import bull_put_spread, combo_mid, credit_order, run, session, wait_until

from ibsim.faults import request_code


def test_the_next_completed_orders_answer_comes_late_and_whole_while_other_requests_are_answered() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "done-before"))
            await wait_until(trade.isDone)
            sim.inject("slow_answer", request="completed_orders", seconds=1.0)

            late = asyncio.ensure_future(ib.reqCompletedOrdersAsync(apiOnly=True))
            await asyncio.sleep(0.3)
            assert not late.done()
            assert await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), 5) == []  # the connection still answers
            completed = await asyncio.wait_for(late, 5)

            assert [t.order.orderRef for t in completed] == ["done-before"]
            applied = [e for e in sim.journal.events if e["event"] == "fault" and "messages" in e]
            assert applied == [{"event": "fault", "ts": applied[0]["ts"], "account": "", "kind": "slow_answer",
                                "request": "completed_orders", "client_id": 1, "seconds": 1.0, "messages": 2}]
            assert await asyncio.wait_for(ib.reqCompletedOrdersAsync(apiOnly=True), 1) != []  # only the next one

    run(body)


def test_a_slow_answer_for_one_client_id_leaves_the_other_clients_alone() -> None:
    async def body() -> None:
        async with session(client_ids=(1, 2)) as (sim, [first, second]):
            sim.inject("slow_answer", request="executions", seconds=1.0, client_id=2)

            late = asyncio.ensure_future(second.reqExecutionsAsync())
            assert await asyncio.wait_for(first.reqExecutionsAsync(), 0.5) == []
            assert not late.done()
            assert await asyncio.wait_for(late, 5) == []

    run(body)


def test_an_unknown_request_name_is_refused_and_not_armed() -> None:
    async def body() -> None:
        async with session() as (sim, _):
            with pytest.raises(ValueError, match="unknown request"):
                sim.inject("slow_answer", request="no_such_request")
            assert sim.broker.faults.slow == []
            assert not [e for e in sim.journal.events if e["event"] == "fault"]

    run(body)


def test_request_names_follow_the_client_message_names() -> None:
    assert request_code("completed_orders").name == "REQ_COMPLETED_ORDERS"
    assert request_code("all_open_orders").name == "REQ_ALL_OPEN_ORDERS"
    assert request_code("place_order").name == "PLACE_ORDER"
