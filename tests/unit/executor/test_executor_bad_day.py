"""The executor's bad day: one regression test per defect the adversarial review (and the fault simulator) found.

Each test injects one fault through the in-memory fakes and asserts on the broker-side journal and the store, never
on what the executor believes. Each failed on the code before the fix it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from executor_fakes import MemoryLeases
from executor_world import World, follower, run, signal, sim_clock, started, trade_one_signal, until, world

from executor.broker import Execution
from executor.engine import Engine
from executor.foreign import Foreign
from executor.lease import GatewayLease, LeaseLost
from spreadpilot.clock import NEW_YORK, SimClock
from spreadpilot.errors import Retryable
from spreadpilot.models import (
    IntentState,
    Right,
    Spread,
    Strategy,
    execution_key,
    make_intent_id,
    make_signal_id,
)
from spreadpilot.store import Malformed

EVERYONE = [follower(n) for n in range(1, 4)]


def one_order_each(w: World, accounts: list[str]) -> None:
    refs = [o["order_ref"] for o in w.orders()]
    assert len(refs) == len(set(refs)), f"an intent was sent twice: {refs}"
    assert sorted(o["account"] for o in w.orders()) == sorted(accounts)


def test_an_ack_timeout_while_reconciling_does_not_disable_the_gateway() -> None:
    w = world(EVERYONE)
    w.broker.truth_timeouts = 1  # the first truth request after connecting is slow

    trade_one_signal(w)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert set(w.store.states().values()) == {IntentState.FILLED}


def test_a_reconciliation_that_keeps_failing_is_retried_and_alerted_then_recovers() -> None:
    w = world(EVERYONE, reconnect_min_s=0.01, reconnect_max_s=0.02)
    w.broker.truth_timeouts = 4

    async def scenario() -> None:
        engine = await started(w)
        assert engine.links["gw-advisor"].reconcile_failures == 0
        await engine.handle_signal(signal())
        await engine.idle()

    run(scenario)
    assert "gateway.reconcile_failed" in w.publisher.alert_types()
    one_order_each(w, ["DU001", "DU002", "DU003"])


def test_a_foreign_order_ref_with_a_slash_breaks_nothing_and_its_execution_is_ledgered() -> None:
    w = world(EVERYONE)
    manual = Execution(exec_id="0000e0d5.6554c5ab.01.01", order_ref="manual/by hand", account="DU002", order_id=0,
                       perm_id=77, con_id=4801, sec_type="STK", right=None, strike=None, expiry=None, side="BOT",
                       qty=100, price=Decimal("484.10"), at=datetime(2026, 3, 17, 13, 40, tzinfo=UTC))
    w.broker.executions.append(manual)

    trade_one_signal(w)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    foreign = w.store.fills[execution_key(manual.exec_id)]
    assert foreign.foreign
    assert (foreign.follower_id, foreign.order_ref) == ("f02", "manual/by hand")


def test_one_failed_intent_write_orphans_nobody_and_the_redelivery_records_it() -> None:
    w = world(EVERYONE)
    w.store.fail["create_intent"] = 1

    async def scenario() -> None:
        engine = await started(w)
        try:
            await engine.handle_signal(signal())
            raise AssertionError("a delivery that recorded only some intents must be nacked")
        except Retryable:
            pass
        await engine.handle_signal(signal())  # Pub/Sub redelivers the nacked message
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert set(w.store.states().values()) == {IntentState.FILLED}


def test_an_intent_create_that_landed_but_raised_is_traded_once_without_waiting_for_redelivery() -> None:
    w = world(EVERYONE, adopt_s=1.0)
    w.store.fail_after["create_intent"] = 1  # committed on the server; the client saw an error

    async def scenario() -> None:
        engine = await started(w)
        with contextlib.suppress(Retryable):
            await engine.handle_signal(signal())
        # no redelivery at all: adoption finds the recorded intent nobody runs
        await until(lambda: len(w.store.intents) == 3 and all(i.state.final for i in w.store.intents.values()))
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001", "DU002", "DU003"])


def test_a_slow_quote_is_asked_again_and_never_makes_an_order_unknown() -> None:
    w = world(EVERYONE, market_retry_s=1.0)
    w.broker.quote_timeouts = 2

    trade_one_signal(w)
    assert set(w.store.states().values()) == {IntentState.FILLED}
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert "order.unknown" not in w.publisher.alert_types()


def test_quotes_that_never_come_skip_the_entry_with_an_alert_and_no_order() -> None:
    w = world([follower(1)], market_retry_s=1.0, market_attempts=3)
    w.broker.quote_timeouts = 100

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.SKIPPED}
    assert w.orders() == []
    assert "order.no_market_data" in w.publisher.alert_types()


def test_a_fill_whose_write_failed_is_written_later_even_after_its_intent_went_final() -> None:
    w = world(EVERYONE, ledger_retry_s=1.0)
    w.store.fail["put_fill"] = 3

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await engine.idle()
        await until(lambda: not engine.ledger.pending)

    run(scenario)
    assert set(w.store.states().values()) == {IntentState.FILLED}
    assert {e.exec_id for e in w.broker.executions} == set(w.store.fills)
    assert all(f.commission > 0 for f in w.store.fills.values())


def test_a_restart_ledgers_the_fills_a_dead_process_never_wrote() -> None:
    w = world(EVERYONE)

    async def scenario() -> None:
        first = await started(w)
        w.store.fail["put_fill"] = 1000  # every fill write fails until the process dies
        await first.handle_signal(signal())
        await until(lambda: all(i.state.final for i in w.store.intents.values()))
        for task in [*first._tasks, *first.handler.tasks]:
            task.cancel()
        w.broker.connected = False
        w.store.fail.clear()
        second = await started(w)
        await second.idle()

    run(scenario)
    assert {e.exec_id for e in w.broker.executions} == set(w.store.fills)


def test_a_malformed_follower_document_stops_nobody_and_is_alerted_once() -> None:
    w = world(EVERYONE)
    bad = Malformed("followers", "f09", "multiplier: Input should be a valid decimal")

    async def scenario() -> None:
        engine = await started(w)
        w.store.malformed_docs = [bad]
        await engine.handle_signal(signal())
        w.store.malformed_docs = [bad]  # read again by a redelivery: not alerted twice
        await engine.handle_signal(signal())
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert w.publisher.alert_types().count("document.malformed") == 1


def test_a_slow_write_of_one_followers_intent_does_not_hold_back_the_others() -> None:
    # found by the fault simulator (i.entry_not_held, seeds 21 and 468): every entry waited for the slowest write
    w = world(EVERYONE, adopt_s=3600.0)  # no adoption pass in between to start what was recorded
    slow = make_intent_id(signal().signal_id, "f02")
    w.store.held[slow] = asyncio.Event()

    async def scenario() -> None:
        engine = await started(w)
        delivery = asyncio.create_task(engine.handle_signal(signal()))
        await until(lambda: len(w.orders()) == 2, limit_s=3.0)
        assert not delivery.done()  # f02's intent is still being written, and nothing is acked
        assert sorted(o["account"] for o in w.orders()) == ["DU001", "DU003"]
        w.store.held[slow].set()
        await delivery
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001", "DU002", "DU003"])


def test_memory_does_not_run_ahead_of_a_failed_write() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        await engine.handler.plan(signal())
        ref = make_intent_id(signal().signal_id, "f01")
        w.store.fail["save_intent"] = 1
        with contextlib.suppress(Exception):
            await engine.book.move(ref, IntentState.SUBMITTED, "sending")
        assert engine.book.get(ref).state is IntentState.PLANNED
        assert w.store.intents[ref].state is IntentState.PLANNED

    run(scenario)


def test_a_store_outage_during_the_entry_is_retried_and_trades_once() -> None:
    w = world(EVERYONE, store_retry_s=0.5)
    w.store.fail["save_intent"] = 4

    trade_one_signal(w)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert set(w.store.states().values()) == {IntentState.FILLED}


def test_a_second_valid_signal_for_the_same_day_trades_no_second_spread() -> None:
    w = world(EVERYONE)
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(486), long_strike=Decimal(481))
    second = signal().model_copy(update={"signal_id": make_signal_id(signal().date, "QQQ", spread, 2),
                                         "spread": spread})

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await engine.handle_signal(second)
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001", "DU002", "DU003"])
    assert "signal.second_for_day" in w.publisher.alert_types()
    skipped = [i for i in w.store.intents.values() if i.signal_id == second.signal_id]
    assert {i.state for i in skipped} == {IntentState.SKIPPED}


def test_an_order_that_waited_in_the_message_budget_across_a_reconnect_is_not_sent_unreconciled() -> None:
    w = world([follower(1)])
    gate = asyncio.Event()

    async def scenario() -> None:
        engine = await started(w)
        w.broker.budget_gate = gate
        await engine.handle_signal(signal())
        await until(lambda: w.store.states() == {"f01": IntentState.SUBMITTED})
        link = engine.links["gw-advisor"]
        link.request_reconcile()  # a reconnect happened while the order waited for its slot
        w.broker.truth_timeouts = 1  # and its reconciliation has not finished yet
        gate.set()
        await asyncio.sleep(0.01)
        assert w.orders() == [], "sent on a gateway that was not reconciled"
        w.broker.budget_gate = None
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001"])


def test_a_refused_modify_does_not_reject_a_live_order() -> None:
    w = world([follower(1)], ladder_step_s=2)
    w.broker.default_fill_credit = w.broker.mid_credit - 2 * w.settings.ladder_tick  # fills after two steps
    w.broker.refuse_modifies = 1

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.FILLED}
    one_order_each(w, ["DU001"])


def test_two_executors_split_three_gateways_and_a_dead_ones_gateways_are_taken_over_without_a_second_order() -> None:
    followers = [follower(1, "gw-a"), follower(2, "gw-b"), follower(3, "gw-c")]
    w = world(followers, lease_ttl_s=2.0, ladder_step_s=600)
    w.broker.default_fill_credit = Decimal("0.10")  # nothing fills: the orders rest at the broker
    for b in w.brokers.values():
        b.default_fill_credit = Decimal("0.10")
    # the second process has its own connections to the same gateways (the same order books)
    other = World(w.store, {g: replace(b, connected=False) for g, b in w.brokers.items()}, w.publisher, w.clock,
                  w.settings, w.leases, holder="executor-b")
    for g, b in other.brokers.items():
        b.orders, b.executions, b.journal = w.brokers[g].orders, w.brokers[g].executions, w.brokers[g].journal

    async def scenario() -> None:
        first = await started(w)
        w.leases.records["gw-c"] = replace(w.leases.records["gw-c"], holder="executor-b")  # b got there first
        second = await started(other, owns=False)
        await until(lambda: second.links["gw-c"].owned and not first.links["gw-c"].owned, 5)
        await asyncio.gather(first.handle_signal(signal()), second.handle_signal(signal()))
        await until(lambda: len(w.orders()) == 3)
        owners = {g: [e for e in (first, second) if e.links[g].owned] for g in ("gw-a", "gw-b", "gw-c")}
        assert all(len(o) == 1 for o in owners.values()), owners
        await kill(first)
        await until(lambda: all(second.links[g].ready.is_set() for g in ("gw-a", "gw-b")), 10)
        assert {i.intent_id for i in second.book.open_on("gw-a")} == {make_intent_id(signal().signal_id, "f01")}
        await second.shutdown(grace_s=0.1)

    run(scenario)
    refs = [o["order_ref"] for o in w.orders()]
    assert len(refs) == 3
    assert len(set(refs)) == 3


def test_a_runner_waiting_for_its_gateway_when_the_lease_lapsed_and_came_back_does_not_send_a_second_order() -> None:
    # fault simulator seed 7675: 1100 on the gateway, then the store hung past the lease; the entry that had been
    # waiting for the gateway woke beside the runner the re-adoption started, and both sent
    w = world([follower(1)], clock=sim_clock(speed=10), lease_ttl_s=2.0)

    async def scenario() -> None:
        engine = await started(w)
        link = engine.links["gw-advisor"]
        w.broker.connect_failures = 10**6
        w.broker.drop_connection()
        await until(lambda: not link.ready.is_set())
        await engine.handle_signal(signal())
        await until(lambda: w.store.states() == {"f01": IntentState.PLANNED})
        w.leases.down = True  # the lease cannot be renewed: the gateway is given up, its intents dropped
        await until(lambda: not engine.book.tracked, 5)
        w.leases.down = False  # and taken again: its open intents are adopted, a runner starts for each
        await until(lambda: link.owned, 5)
        w.broker.connect_failures = 0
        await until(lambda: link.ready.is_set(), 5)
        await engine.idle()

    run(scenario)
    one_order_each(w, ["DU001"])


@pytest.mark.parametrize("stamp_fails", [False, True])
def test_an_intent_a_takeover_first_meets_in_a_redelivered_signal_is_fenced_against_its_old_owner(
        stamp_fails: bool) -> None:
    # fault simulator seed 3328: the old owner's write, hung in a partition, landed after the new owner had read the
    # intent from a redelivered signal, which tracked it without stamping its own epoch on it. With stamp_fails, the
    # stamp's write fails once: the intent is not tracked then (nothing is sent for it), and the next redelivery
    # stamps it
    w = world([follower(1)], lease_ttl_s=2.0)
    other = World(w.store, {g: replace(b, connected=False) for g, b in w.brokers.items()}, w.publisher, w.clock,
                  w.settings, w.leases, holder="executor-b")
    for g, b in other.brokers.items():
        b.orders, b.executions, b.journal = w.brokers[g].orders, w.brokers[g].executions, w.brokers[g].journal
    ref = make_intent_id(signal().signal_id, "f01")

    async def scenario() -> None:
        first = await started(w)
        await first.handle_signal(signal())
        await first.idle()
        old_epoch = w.store.epochs[ref]
        late = w.store.intents[ref]  # what the old owner still means to write
        await kill(first)
        second = await started(other, owns=False)
        await until(lambda: second.links["gw-advisor"].ready.is_set(), 10)
        if stamp_fails:
            w.store.fail["save_intent"] = 1
            await second.handle_signal(signal())
            assert ref not in second.book.tracked
        await second.handle_signal(signal())  # the signal's redelivery reaches the new owner
        await until(lambda: ref in second.book.tracked)
        await asyncio.sleep(0.05)
        try:
            await w.store.save_intent(late, epoch=old_epoch)
        except LeaseLost:
            pass
        else:
            raise AssertionError("the old owner's late write landed on an intent the new owner tracks")
        await second.shutdown(grace_s=0.1)

    run(scenario)
    assert len(w.orders()) == 1


async def kill(engine: Engine) -> None:
    """The process dies: its tasks stop at once, its sockets close, its leases are not given up."""
    for link in engine.links.values():
        link.broker.connected = False  # type: ignore[attr-defined]
    tasks = [*engine.handler.tasks, *engine._fill_tasks, *engine._tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_a_lease_is_not_taken_while_its_holder_renews_and_a_takeover_raises_the_epoch() -> None:
    from executor.lease import next_record

    now = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)
    held = next_record(None, "a", now, now + timedelta(seconds=30))
    assert held is not None
    assert held.epoch == 1
    assert next_record(held, "b", now + timedelta(seconds=10), now + timedelta(seconds=40)) is None
    renewed = next_record(held, "a", now + timedelta(seconds=10), now + timedelta(seconds=40))
    assert renewed is not None
    assert renewed.epoch == 1
    taken = next_record(held, "b", now + timedelta(seconds=31), now + timedelta(seconds=61))
    assert taken is not None
    assert (taken.holder, taken.epoch) == ("b", 2)


def test_a_process_that_lost_its_lease_cannot_overwrite_its_successors_intent() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        await engine.handler.plan(signal())
        ref = make_intent_id(signal().signal_id, "f01")
        w.store.epochs[ref] = 5  # a successor wrote it under a newer lease
        with contextlib.suppress(Exception):
            await engine.book.move(ref, IntentState.SUBMITTED, "late write")
        assert w.store.intents[ref].state is IntentState.PLANNED

    run(scenario)





def test_an_execution_correction_replaces_the_execution_it_corrects() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await engine.idle()
        first = w.broker.executions[0]
        # IB repeats the execution with the same execId up to its last dot: a correction, not a second fill
        original = replace(first, exec_id="0000e0d5.6554c5ab.01.01")
        corrected = replace(first, exec_id="0000e0d5.6554c5ab.01.02", price=first.price + Decimal("0.01"))
        for execution in (original, corrected, original):  # the old version arriving late changes nothing
            engine._on_execution(execution)
        await engine.idle()

    run(scenario)
    booked = w.store.fills["0000e0d5.6554c5ab.01"]
    assert booked.exec_id == "0000e0d5.6554c5ab.01.02"
    assert len(w.store.fills) == len(w.broker.executions) + 1  # the corrected one stands once beside the others


def test_an_order_this_client_cannot_modify_is_unknown_with_a_critical_alert_not_laddered_forever() -> None:
    w = world([follower(1)], ladder_step_s=2)
    w.broker.default_fill_credit = Decimal("0.10")  # never fills
    w.broker.foreign_client.add("DU001")  # as after a takeover by a process with another client id

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.UNKNOWN}
    assert "order.not_modifiable" in w.publisher.alert_types()
    one_order_each(w, ["DU001"])


def test_a_lease_this_process_let_go_is_taken_again_under_a_new_epoch_though_the_server_still_counts_it_held() -> None:
    # the 50-follower outage integration test (1 fresh-clone run in 4): the process gave the gateway up by its own
    # count while the server still had its lease (a renewal that landed while the client timed out); taking it back
    # under the same epoch let a write hung since before the lapse land over its intent's newer state
    leases = MemoryLeases()

    async def scenario() -> tuple[int | None, int | None]:
        lease = GatewayLease(leases, "gw-advisor", "executor-a", sim_clock(speed=1.0), ttl_s=30.0)
        assert await lease.renew()
        before = lease.epoch
        lease.lapse()  # what GatewayLink does when it gives the gateway up
        assert await lease.renew()
        return before, lease.epoch

    before, after = run(scenario)
    assert before is not None
    assert after == before + 1
    assert leases.records["gw-advisor"].epoch == after


# ── foreign activity: found at every truth, once a day, and never in the way of a reconciliation ─────────────────
def foreign_execution_in(account: str, ref: str, exec_id: str) -> Execution:
    return Execution(exec_id, ref, account, 0, 777, 9, "OPT", Right.PUT, Decimal(470), None, "BOT", 1, Decimal("0.10"),
                     datetime(2026, 3, 17, 14, 0, tzinfo=UTC))


def test_foreign_activity_is_reported_from_every_truth_once_a_day_and_after_a_store_error_in_the_lookup() -> None:
    start = time.time()
    clock = SimClock(datetime(2026, 3, 17, 9, 45, tzinfo=NEW_YORK), 600.0, start,
                     jumps=((start + 1.5, datetime(2026, 3, 18, 9, 45, tzinfo=NEW_YORK)),))
    w = world([follower(1), follower(2)], clock=clock)
    w.broker.executions.append(foreign_execution_in("DU001", "", "0001.01"))  # typed by hand before the start
    seen: list[Foreign] = []

    async def scenario() -> None:
        engine = await started(w)
        engine.watch_foreign(seen.append)  # what the first reconciliation found comes first
        assert [(f.follower_id, f.account) for f in seen] == [("f01", "DU001")]
        [link] = engine.links.values()

        await link.resync("again")  # the same truth again: nothing new to report
        assert len(seen) == 1

        # an intent-shaped orderRef no process here knows: the store must say, and it is down for the first look;
        # the reconciliation is retried (nothing goes out meanwhile) and the next one reports it
        w.broker.executions.append(foreign_execution_in("DU002", make_intent_id("20260316-QQQ-x", "f02"), "0002.01"))
        w.store.fail["get_intents"] = 1
        await link.resync("store down while looking")
        await until(link.ready.is_set, 5)
        assert len(seen) == 2
        assert (seen[1].follower_id, seen[1].account) == ("f02", "DU002")
        assert "orderRef 'entry-20260316-QQQ-x-f02'" in seen[1].what

        await until(lambda: clock.now().date().day == 18, 5)
        await link.resync("the next day")  # still there the next day: reported again, once
        await link.resync("the next day, again")
        assert len(seen) == 4
        await engine.shutdown(grace_s=0.1)

    run(scenario)
