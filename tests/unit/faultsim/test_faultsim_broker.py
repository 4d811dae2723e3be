"""The simulated gateway and its connections: IB's order identity, fills, pacing, faults and the journal."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

import pytest

from executor.broker import (
    AckTimeout,
    BrokerDisconnected,
    BrokerListener,
    Combo,
    ComboLegSpec,
    Execution,
    OrderRejected,
    OrderRequest,
    OrderUpdate,
)
from executor.lifecycle.ports import ComboOrder, SingleOrder
from faultsim.broker import BrokerInjection, SimBroker, con_id_of
from faultsim.gateway import GatewayEvents, Market, SimGateway
from faultsim.vloop import VirtualClock, VirtualLoop
from faultsim.world import START
from spreadpilot.errors import Rejected
from spreadpilot.models import Right

T = TypeVar("T")
DAY = date(2026, 3, 17)
EXEC_ID = re.compile(r"^[0-9a-f]{8}\.[0-9a-f]{8}\.\d\d\.\d\d$")


@dataclass
class Heard:
    orders: list[OrderUpdate] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    disconnects: int = 0

    def listener(self) -> BrokerListener:
        def gone() -> None:
            self.disconnects += 1

        return BrokerListener(on_order=self.orders.append, on_execution=self.executions.append, on_disconnected=gone)


@dataclass
class Bench:
    loop: VirtualLoop
    gateway: SimGateway
    faults: dict[str, BrokerInjection] = field(default_factory=dict)
    sent: list[dict[str, object]] = field(default_factory=list)

    def connection(self, client_id: int = 1, pid: str = "p1") -> tuple[SimBroker, Heard]:
        def fault(gateway: str, op: str, pid: str) -> BrokerInjection | None:
            return self.faults.pop(op, None)

        broker = SimBroker(self.gateway, client_id, pid, self.loop, ack_timeout_s=2.0, faults=fault, sent=self.sent)
        heard = Heard()
        broker.set_listener(heard.listener())
        return broker, heard

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        async def main() -> T:
            return await make()

        return self.loop.run_until_complete(main())


def bench(fill_credit: str = "0.00", partial: bool = False) -> Bench:
    loop = VirtualLoop(seed=7)
    clock = VirtualClock(loop, START)
    accounts = ["DU1", "DU2", "DU3"]
    market = Market(Decimal("1.00"), {a: Decimal(fill_credit) for a in accounts}, {"DU1"} if partial else set())
    events = GatewayEvents(clock.now, loop.call_later, random.Random(1), lambda source, text: None,
                           lambda gateway: (False, None), lambda gateway: False)
    return Bench(loop, SimGateway("gw-1", accounts, market, events, perm_base=5000))


def request(account: str = "DU1", ref: str = "entry-x-f01", qty: int = 2, credit: str = "1.00") -> OrderRequest:
    legs = (ComboLegSpec(con_id_of(Decimal(485), Right.PUT), "SELL", Right.PUT, Decimal(485), DAY),
            ComboLegSpec(con_id_of(Decimal(480), Right.PUT), "BUY", Right.PUT, Decimal(480), DAY))
    return OrderRequest(ref, account, Combo("QQQ", legs), "BUY", qty, -Decimal(credit))


def orders_of(b: Bench, ref: str) -> list[dict[str, object]]:
    return [e for e in b.gateway.journal if e["event"] == "order" and e["order_ref"] == ref and not e["what_if"]]


def test_order_ids_follow_the_client_sequence_and_perm_ids_are_unique_across_accounts() -> None:
    b = bench()
    broker, _ = b.connection()

    async def two() -> tuple[object, object]:
        await broker.connect()
        return await broker.place(request("DU1", "r1")), await broker.place(request("DU2", "r2"))

    first, second = b.run(two)
    assert (first.order_id, second.order_id) == (1, 2)  # type: ignore[attr-defined]
    assert first.perm_id != second.perm_id  # type: ignore[attr-defined]
    assert [e["order_ref"] for e in b.gateway.journal if e["event"] == "order"] == ["r1", "r2"]


def test_a_modify_keeps_order_id_and_perm_id_and_is_journaled_as_a_modify() -> None:
    b = bench()
    broker, _ = b.connection()

    async def ladder() -> tuple[object, object]:
        await broker.connect()
        ack = await broker.place(request())
        return ack, await broker.modify("entry-x-f01", Decimal("-0.99"))

    placed, modified = b.run(ladder)
    assert (placed.order_id, placed.perm_id) == (modified.order_id, modified.perm_id)  # type: ignore[attr-defined]
    lines = orders_of(b, "entry-x-f01")
    assert [line["modify"] for line in lines] == [False, True]
    assert lines[1]["limit"] == "-0.99"


def test_fills_are_per_leg_with_ib_exec_ids_and_the_commission_report_follows() -> None:
    b = bench(fill_credit="1.00")
    broker, heard = b.connection()

    async def fill() -> object:
        await broker.connect()
        await broker.place(request(qty=2))
        await asyncio.sleep(2)
        return await broker.truth()

    truth = b.run(fill)
    legs = [e for e in heard.executions if e.sec_type == "OPT"]
    assert all(EXEC_ID.match(e.exec_id) for e in heard.executions)
    assert [e.commission for e in legs] == [Decimal(0), Decimal(0), Decimal("1.30"), Decimal("1.30")]
    assert {e.side for e in legs} == {"SLD", "BOT"}
    assert heard.orders[-1].status == "Filled"
    assert sorted(p.qty for p in truth.positions) == [-2, 2]  # type: ignore[attr-defined]
    assert [(o.status, o.order_id) for o in truth.completed_orders] == [("Filled", 0)]  # type: ignore[attr-defined]


def test_a_correction_repeats_the_exec_id_up_to_the_last_dot() -> None:
    b = bench(fill_credit="1.00")
    broker, heard = b.connection()

    async def corrected() -> None:
        await broker.connect()
        await broker.place(request(qty=1))
        await asyncio.sleep(1)
        b.gateway.correct(next(e for e in b.gateway.executions if e.sec_type == "OPT"))
        await asyncio.sleep(1)

    b.run(corrected)
    original, correction = next(e.exec_id for e in b.gateway.executions if e.sec_type == "OPT"), \
        b.gateway.executions[-1].exec_id
    assert original.rsplit(".", 1)[0] == correction.rsplit(".", 1)[0]
    assert original.endswith(".01")
    assert correction.endswith(".02")
    assert correction in {e.exec_id for e in heard.executions}


def test_pacing_sends_at_most_45_messages_in_any_virtual_second_and_queues_the_rest() -> None:
    b = bench()
    broker, _ = b.connection()

    async def burst() -> float:
        await broker.connect()
        start = asyncio.get_running_loop().time()
        await asyncio.gather(*(broker.place(request("DU1", f"r{i}", qty=1)) for i in range(100)))
        return asyncio.get_running_loop().time() - start

    took = b.run(burst)
    times = sorted(broker.message_times)
    assert len(times) == 100
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 45
    assert took >= 2.0  # 100 messages at 45/s: the last leaves after two seconds
    assert len({e["order_ref"] for e in b.gateway.journal if e["event"] == "order"}) == 100  # none dropped


def test_a_lost_ack_times_out_while_connected_and_the_order_is_in_the_book() -> None:
    b = bench()
    broker, _ = b.connection()
    b.faults["place"] = BrokerInjection(ack="lost")

    async def place() -> None:
        await broker.connect()
        await broker.place(request())

    with pytest.raises(AckTimeout):
        b.run(place)
    assert len(orders_of(b, "entry-x-f01")) == 1


def test_a_socket_drop_fails_the_waiting_order_with_a_disconnect_and_tells_the_listener() -> None:
    b = bench()
    broker, heard = b.connection()
    b.faults["place"] = BrokerInjection(ack="lost")

    async def place() -> None:
        await broker.connect()
        b.loop.call_later(0.5, b.gateway.drop, 1.0)
        await broker.place(request())

    with pytest.raises(BrokerDisconnected):
        b.run(place)
    b.run(lambda: asyncio.sleep(0.1))
    assert heard.disconnects == 1


def test_a_dropped_order_never_reaches_the_book() -> None:
    b = bench()
    broker, _ = b.connection()
    b.faults["place"] = BrokerInjection(drop=True)

    async def place() -> None:
        await broker.connect()
        await broker.place(request())

    with pytest.raises(AckTimeout):
        b.run(place)
    assert orders_of(b, "entry-x-f01") == []
    assert b.sent[0]["dropped"] is True


def test_a_restart_rolls_order_ids_back_until_a_truth_fetch_raises_them() -> None:
    b = bench()
    broker, _ = b.connection()

    async def day() -> tuple[int, int]:
        await broker.connect()
        for i in range(5):
            await broker.place(request("DU1", f"r{i}", qty=1))
        b.gateway.drop(0.5, rollback=4)
        await asyncio.sleep(1)
        await broker.connect()
        after_restart = broker.next_id
        await broker.truth()
        return after_restart, broker.next_id

    after_restart, after_truth = b.run(day)
    assert after_restart == 2  # the gateway's stored sequence went back from 6 to 2
    assert after_truth == 6  # above every id the open orders carry


def test_another_clients_order_shows_with_order_id_0_and_a_second_session_of_one_client_id_is_refused() -> None:
    b = bench()
    broker, _ = b.connection(client_id=1)
    twin, _ = b.connection(client_id=1, pid="p2")
    b.gateway.foreign_order("DU3", "ops/hedge", 7, request().combo.legs, 1, Decimal("-0.50"), fill=False)

    async def look() -> object:
        await broker.connect()
        with pytest.raises(BrokerDisconnected, match="326"):
            await twin.connect()
        return await broker.truth()

    truth = b.run(look)
    assert [(o.order_ref, o.order_id) for o in truth.open_orders] == [("ops/hedge", 0)]  # type: ignore[attr-defined]


def test_a_refused_modify_is_a_rejection_while_the_order_stays_live() -> None:
    b = bench()
    broker, heard = b.connection()

    async def refused() -> None:
        await broker.connect()
        await broker.place(request())
        b.faults["modify"] = BrokerInjection(refuse=True)
        await broker.modify("entry-x-f01", Decimal("-0.99"))

    with pytest.raises(OrderRejected):
        b.run(refused)
    assert heard.orders[-1].status == "Inactive"  # what the real adapter reports after ib_async's 201
    assert [o.live for o in b.gateway.orders.values()] == [True]


def test_a_hanging_truth_request_times_out() -> None:
    b = bench()
    broker, _ = b.connection()
    b.faults["truth"] = BrokerInjection(hang=True)

    async def look() -> None:
        await broker.connect()
        await broker.truth()

    with pytest.raises(AckTimeout):
        b.run(look)


def test_a_combo_sell_closes_each_leg_the_other_way_and_a_stock_order_is_refused_with_a_reason() -> None:
    b = bench(fill_credit="1.00")
    broker, _ = b.connection()
    entry = request(qty=2)

    async def close() -> list[object]:
        await broker.connect()
        await broker.place(entry)
        await asyncio.sleep(2)
        await broker.place_combo(ComboOrder("exit-x-f01", "DU1", entry.combo, "SELL", 2, None))
        await asyncio.sleep(2)
        return list(await broker.positions("DU1"))

    assert b.run(close) == []  # flat: the SELL bought the short back and sold the long
    with pytest.raises(Rejected, match="no security definition"):
        b.run(lambda: broker.place_single(SingleOrder("flatten-x-f01", "DU1", 320227571, "STK", "SELL", 100)))


def test_an_order_held_during_1100_and_cancelled_is_done_at_the_broker_not_open() -> None:
    # seed 6256: the cancelled held order stayed in the open orders as PreSubmitted, so every reconciliation found it
    # working and every further cancel got error 161, for the rest of the day
    b = bench()
    broker, _ = b.connection()

    async def held_then_cancelled() -> object:
        await broker.connect()
        b.gateway.lose_link(60.0, 1101)
        with pytest.raises(AckTimeout):
            await broker.place(request())
        await broker.cancel("entry-x-f01")
        return await broker.truth()

    truth = b.run(held_then_cancelled)
    assert [o.order_ref for o in truth.open_orders] == []  # type: ignore[attr-defined]
    assert [(o.order_ref, o.status) for o in truth.completed_orders] == [  # type: ignore[attr-defined]
        ("entry-x-f01", "Cancelled")]
    b.run(lambda: asyncio.sleep(61))
    assert [e["event"] for e in b.gateway.journal if e["event"] in {"order", "cancel", "fill"}] == ["order", "cancel"]


def test_the_pnl_feed_is_the_days_cash_less_commissions_plus_the_positions_at_the_marks_and_none_during_1100() -> None:
    b = bench(fill_credit="1.00")
    broker, _ = b.connection()

    async def filled_then_lost() -> tuple[object, object]:
        await broker.connect()
        await broker.place(request(qty=2))  # a 1.00 credit for 2 spreads; both legs marked at 0.60 (all time value)
        await asyncio.sleep(2)
        before = await broker.account_pnl("DU1")
        b.gateway.lose_link(30.0, 1101)
        return before, await broker.account_pnl("DU1")

    pnl, during = b.run(filled_then_lost)
    assert pnl.daily == Decimal("197.40")  # type: ignore[attr-defined]  # 2 × 100 × 1.00 less 4 × 0.65
    assert pnl.realized == Decimal("-2.60")  # type: ignore[attr-defined]  # nothing closed: only the commissions
    assert during is None
