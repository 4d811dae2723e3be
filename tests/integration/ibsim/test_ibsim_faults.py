"""Every fault kind, observed through the real client the way IBKR shows it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import IB
from ibsim_harness import (
    GUARD_S,
    bull_put_spread,
    combo_mid,
    config,
    credit_order,
    run,
    session,
    wait_until,
)


def _codes(ib: IB) -> list[int]:
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code) if req_id == -1 else None
    return codes


@pytest.mark.parametrize(("kind", "code"), [
    ("connectivity_lost", 1100),
    ("connectivity_restored_data_lost", 1101),
    ("connectivity_restored", 1102),
])
def test_connectivity_messages_reach_every_client_as_system_errors(kind: str, code: int) -> None:
    async def body() -> None:
        async with session(client_ids=(1, 2)) as (sim, clients):
            seen = [_codes(ib) for ib in clients]
            sim.inject(kind)
            await wait_until(lambda: all(code in s for s in seen))
            assert all(ib.isConnected() for ib in clients)

    run(body)


def test_nightly_reset_sends_lost_then_restored_and_keeps_the_socket_open() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            seen = _codes(ib)
            sim.inject("nightly_reset", seconds=0.2)
            await wait_until(lambda: seen == [1100, 1102])
            assert ib.isConnected()

    run(body)


def test_disconnect_closes_the_socket_and_refuses_connections_until_the_window_ends() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            dropped: list[bool] = []
            ib.disconnectedEvent += lambda: dropped.append(True)
            sim.inject("disconnect", seconds=0.5)
            await wait_until(lambda: dropped == [True])
            assert not ib.isConnected()
            with pytest.raises(ConnectionRefusedError):
                await IB().connectAsync("127.0.0.1", sim.port, clientId=1, timeout=GUARD_S)
            await wait_until(lambda: not sim.refusing)
            await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=GUARD_S, raiseSyncErrors=True)
            assert ib.isConnected()

    run(body)


def test_next_valid_id_goes_backwards_after_a_reconnect_and_old_ids_are_reusable() -> None:
    async def body() -> None:
        async with session(config(first_order_id=500)) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "before"))
            await wait_until(trade.isDone)
            assert trade.order.orderId >= 500
            sim.inject("lower_next_id", next_id=1)
            ib.disconnect()
            await wait_until(lambda: 1 not in sim.broker.connections)
            await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=GUARD_S, raiseSyncErrors=True)
            assert ib.client.getReqId() < trade.order.orderId
            again = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "after"))
            await wait_until(again.isDone)
            assert again.orderStatus.status == "Filled"
            assert again.order.permId != trade.order.permId

    run(body)


def test_exec_details_can_arrive_before_open_order() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("exec_before_open", account="DU001")
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "ebo"))
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            fill_entries = [e for e in trade.log if e.message.startswith("Fill")]
            assert len(fill_entries) == 2
            # The fills were logged while the client had not yet heard anything about the order.
            assert {e.status for e in fill_entries} == {"PendingSubmit"}

    run(body)


def test_a_partial_fill_leaves_the_rest_working_until_modified() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("partial_fill")
            order = credit_order(combo_mid(sim, short, long_), 4, "DU001", "pf")
            trade = ib.placeOrder(bag, order)
            await wait_until(lambda: trade.orderStatus.filled == 2)
            assert (trade.orderStatus.status, trade.orderStatus.remaining) == ("Submitted", 2)
            ib.placeOrder(bag, order)  # a modify (same id) lets the remainder fill
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            assert sum(f.execution.shares for f in trade.fills) == 8  # 4 per leg

    run(body)


def test_a_missing_order_status_leaves_only_executions_as_the_truth() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("missing_status")
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "ms"))
            await wait_until(lambda: len(trade.fills) == 2)
            await ib.reqCurrentTimeAsync()  # everything the server sent about the order has arrived by now
            assert trade.orderStatus.status == "PendingSubmit"
            assert trade.order.permId > 0  # openOrder did arrive

    run(body)


def test_a_silently_dropped_order_gets_no_answer_and_no_broker_record() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("drop_order", account="DU001")
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "lost"))
            await ib.reqCurrentTimeAsync()
            assert trade.orderStatus.status == "PendingSubmit"
            assert trade.log[-1].status == "PendingSubmit"
            assert sim.broker.orders == {}
            assert await ib.reqAllOpenOrdersAsync() == []
            assert [e["event"] for e in sim.journal.events if e.get("order_ref") == "lost"] == ["fault"]

    run(body)


def test_order_faults_aimed_at_one_account_spare_the_others() -> None:
    async def body() -> None:
        async with session(config(["DU001", "DU002"])) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("drop_order", follower="f02")  # f02 = the second managed account
            credit = combo_mid(sim, short, long_)
            first = ib.placeOrder(bag, credit_order(credit, 1, "DU001", "a"))
            await wait_until(first.isDone)
            second = ib.placeOrder(bag, credit_order(credit, 1, "DU002", "b"))
            await ib.reqCurrentTimeAsync()
            assert second.orderStatus.status == "PendingSubmit"
            assert Decimal(sim.state()["accounts"]["DU002"]["values"]["InitMarginReq"]) == 0

    run(body)


def test_restored_with_data_lost_drops_market_data_subscriptions_until_resubscribed() -> None:
    import math

    from ibsim_harness import SHORT_STRIKE, put

    async def body() -> None:
        async with session() as (sim, [ib]):
            option = put(SHORT_STRIKE)
            await ib.qualifyContractsAsync(option)
            ticker = ib.reqMktData(option)
            await wait_until(lambda: not math.isnan(ticker.bid))
            [server_side] = [s for s in sim.sessions if s.registered]
            assert len(server_side.market_data) == 1
            sim.inject("connectivity_restored_data_lost")
            assert server_side.market_data == {}
            ib.cancelMktData(option)
            ib.reqMktData(option)
            await wait_until(lambda: len(server_side.market_data) == 1)

    run(body)


def test_an_order_received_during_1100_is_kept_presubmitted_and_goes_out_once_on_1102_with_resubmit_on() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            seen = _codes(ib)
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("link_lost_at_order", seconds=0.3)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "held"))
            await wait_until(lambda: 1100 in seen)
            await ib.reqCurrentTimeAsync()
            assert trade.orderStatus.status == "PreSubmitted"
            assert trade.fills == []
            assert [t.order.orderRef for t in await ib.reqAllOpenOrdersAsync()] == ["held"]  # the gateway has it
            await wait_until(lambda: seen == [1100, 1102] and trade.orderStatus.status == "Filled")
            assert len(trade.fills) == 2  # one combo fill: its two legs, once
            events = [e["event"] for e in sim.journal.events if e.get("order_ref") == "held"]
            assert events.count("order") == 1
            assert events.count("resubmitted") == 1

    run(body)


def test_an_order_received_during_1100_is_rejected_and_never_sent_later_with_resubmit_off() -> None:
    async def body() -> None:
        async with session(config(resubmit_on_restore=False)) as (sim, [ib]):
            seen = _codes(ib)
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("link_lost_at_order", seconds=0.3)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "not-kept"))
            await wait_until(lambda: seen == [1100, 1102])
            await ib.reqCurrentTimeAsync()
            assert trade.orderStatus.status in ("Cancelled", "Inactive")
            assert any(entry.errorCode == 201 for entry in trade.log)
            assert trade.fills == []
            assert sim.broker.orders == {}
            assert await ib.reqAllOpenOrdersAsync() == []

    run(body)


def test_a_held_order_cancelled_during_1100_is_not_resubmitted_on_1102() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            seen = _codes(ib)
            bag, short, long_ = await bull_put_spread(ib)
            sim.inject("link_lost_at_order", seconds=0.5)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "kept-then-cancelled"))
            await wait_until(lambda: trade.orderStatus.status == "PreSubmitted")
            ib.cancelOrder(trade.order)
            await wait_until(lambda: trade.orderStatus.status == "Cancelled" and seen == [1100, 1102])
            await ib.reqCurrentTimeAsync()
            assert trade.fills == []
            assert "resubmitted" not in [e["event"] for e in sim.journal.events]

    run(body)
