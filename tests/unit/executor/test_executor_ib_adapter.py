"""The IB adapter refuses what would send the wrong message: no session is needed to prove it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ib_async import Contract, LimitOrder, OrderStatus, Trade, TradeLogEntry

from executor.broker import AccountState, BrokerListener, NotModifiable, OrderRejected, OrderUpdate, OutcomeUnknown
from executor.ib import IBBroker


def broker_with(order_id: int, client_id: int, status: str) -> IBBroker:
    broker = IBBroker("gw", "127.0.0.1", 4002, 7)
    order = LimitOrder("BUY", 2, -0.80, orderId=order_id, clientId=client_id, orderRef="entry-x-f01")
    broker._trades["entry-x-f01"] = Trade(contract=Contract(secType="BAG"), order=order,
                                          orderStatus=OrderStatus(orderId=order_id, status=status))
    return broker


def test_modifying_an_order_known_without_an_order_id_is_refused_instead_of_placing_a_new_one() -> None:
    # placeOrder with orderId 0 makes ib_async assign a fresh id: a second order, not a modify
    with pytest.raises(NotModifiable):
        asyncio.run(broker_with(0, 0, "Submitted").modify("entry-x-f01", Decimal("-0.79")))


def test_an_order_of_another_client_id_is_not_modified_or_cancelled() -> None:
    with pytest.raises(NotModifiable):
        asyncio.run(broker_with(12, 3, "Submitted").cancel("entry-x-f01"))


def test_an_order_ib_async_marked_cancelled_locally_is_left_to_reconciliation() -> None:
    # ib_async asserts when a done trade is placed again; and the broker may well still be working it
    with pytest.raises(OutcomeUnknown):
        asyncio.run(broker_with(12, 7, "Cancelled").modify("entry-x-f01", Decimal("-0.79")))


def test_each_accounts_funds_come_from_the_summary_subscription_whatever_its_base_currency() -> None:
    broker = IBBroker("gw", "127.0.0.1", 4002, 7)
    wrapper = broker.ib.wrapper
    for account, currency, funds in (("DU001", "USD", "25000"), ("DU002", "EUR", "9000.50")):
        wrapper.accountSummary(1, account, "AvailableFunds", funds, currency)
        wrapper.accountSummary(1, account, "ExcessLiquidity", funds, currency)
    wrapper.accountSummary(1, "DU001", "AvailableFunds", "24000", "USD")  # an update replaces the value
    wrapper.accountSummary(1, "DU003", "AvailableFunds", "100", "USD")  # its excess liquidity is not in yet

    assert broker.account_state("DU001") == AccountState(Decimal(24000), Decimal(25000), holds_positions=False)
    assert broker.account_state("DU002") == AccountState(Decimal("9000.50"), Decimal("9000.50"),
                                                         holds_positions=False)
    assert broker.account_state("DU003") is None
    assert broker.account_state("DU404") is None


REASON = "Order rejected - reason:Not connected to the IB server"


def test_a_rejection_keeps_the_brokers_reason_though_ib_async_reports_the_order_ended_before_the_error() -> None:
    # ib_async emits the order's status (Cancelled, with the error in its log) before errorEvent
    broker = broker_with(12, 7, "Submitted")
    trade = broker._trades["entry-x-f01"]
    seen: list[OrderUpdate] = []
    broker.set_listener(BrokerListener(on_order=seen.append, on_execution=lambda e: None))

    async def body() -> None:
        waiter = asyncio.get_running_loop().create_future()
        broker._waiters[12] = waiter
        trade.orderStatus.status = "Cancelled"
        trade.log.append(TradeLogEntry(datetime.now(UTC), "Cancelled", f"Error 201, reqId 12: {REASON}", 201))
        broker._on_status(trade)
        with pytest.raises(OrderRejected, match=re.escape(f"201: {REASON}")):
            await waiter

    asyncio.run(body())
    assert [(u.status, u.message) for u in seen] == [
        ("Inactive", f"201: {REASON}")]
