"""Operator actions and risk repairs on a bad day: one regression test per defect found (issue 14), each named for it.

Every test drives the lifecycle as the executor wires it, over the in-memory broker, with Firestore errors, socket
drops, orders that rest and Pub/Sub redeliveries; outcomes are read from the broker's positions and orders.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from lifecycle_broker import MemoryBroker
from lifecycle_fakes import STOCK_CON_ID, FixedClock, follower, option, stock
from lifecycle_rig import Rig, cmd, deliver, held, restart, rig, spin, spreads, standby

from executor.broker import OrderUpdate
from executor.lifecycle.ports import AccountPnL, LegQuote
from spreadpilot.actions import ActionState
from spreadpilot.models import CommandKind, IntentKind, IntentState, OrderIntent, Spread, Strategy

A = "DU001"
CODE = "ABCD12"


def loss(amount: str) -> AccountPnL:
    return AccountPnL(Decimal(amount), Decimal(amount), Decimal(0))


async def flatten_all(r: Rig, code: str = CODE) -> str | None:
    await deliver(r, cmd("r1", CommandKind.FLATTEN_REQUEST, code=code))
    status = await deliver(r, cmd("k1", CommandKind.FLATTEN_CONFIRM, code=code))
    await r.settle()
    return status


# ── a confirmed flatten is never lost, half done, or answered "already executed" ─────────────────────────────────


def test_a_confirmed_flatten_whose_kill_switch_write_fails_still_closes_everything_instead_of_answering_duplicate(
) -> None:
    r = rig(spreads(1, 2), [follower(1), follower(2)])
    r.store.failures.arm("set_controls")
    asyncio.run(flatten_all(r))
    assert held(r.broker, "DU001") == {}
    assert held(r.broker, "DU002") == {}
    assert r.store.controls["global"]["entries_paused"] is True
    assert r.store.commands["k1"]["status"] == "done"


def test_a_flatten_closes_the_days_options_and_leaves_a_followers_own_position_of_another_expiry() -> None:
    # found by the fault simulator (k.others_positions_kept): "flatten all" sold a follower's own June hedge
    hedge = replace(option("DU001", 400, 1), con_id=600_000_400, expiry=date(2026, 6, 19))
    r = rig(spreads(1, 2), [follower(1), follower(2)])
    r.broker.positions_.append(hedge)
    asyncio.run(flatten_all(r))
    assert held(r.broker, "DU001") == {hedge.con_id: 1}
    assert held(r.broker, "DU002") == {}
    assert r.store.commands["k1"]["status"] == "done"


def test_an_answer_claim_that_landed_while_its_client_saw_an_error_still_answers_the_operator_once() -> None:
    # the claim of the answer committed on the server, the response was lost: the retry found the claim taken and
    # took it for another drive's, so nobody answered
    r = rig(spreads(1), [follower(1)])
    claim = r.store.claim
    lost: list[str] = []

    async def committed_then_lost(key: str, **data: object) -> bool:
        taken = await claim(key, **data)
        if key.startswith("answer-") and not lost:
            lost.append(key)
            raise ConnectionError("the response of the commit was lost")
        return taken

    r.store.claim = committed_then_lost  # type: ignore[method-assign]
    asyncio.run(flatten_all(r))
    assert lost == [f"answer-flatten-{CODE}"]
    answers = [m for m in r.alerts.alerts() if m.type.startswith("command.")]
    assert [(m.type, m.context.get("command_id")) for m in answers] == [("command.finished", "k1")]


def test_a_flatten_pulled_by_the_executor_without_the_gateway_is_done_by_the_one_holding_it_with_one_answer() -> None:
    # found by the fault simulator (l.closed_when_asked, seeds 164, 233, 255): with a second executor, the one that
    # pulled the confirm held no gateway; it ended "partly done: gateway not ready" and closed nothing
    owner = rig(spreads(1, 2), [follower(1), follower(2)])
    other = standby(owner)

    async def scenario() -> str | None:
        await deliver(other, cmd("r1", CommandKind.FLATTEN_REQUEST, code=CODE))
        confirm = asyncio.create_task(deliver(other, cmd("k1", CommandKind.FLATTEN_CONFIRM, code=CODE)))
        for _ in range(500):  # the owner's adoption pass runs every few seconds
            await owner.parts.actions.adopt()
            await spin(20)
            if confirm.done():
                break
        await owner.settle()
        return await confirm

    assert asyncio.run(scenario()) == "done"
    assert held(owner.broker, "DU001") == {}
    assert held(owner.broker, "DU002") == {}
    answers = [m for r in (owner, other) for m in r.alerts.alerts() if m.type.startswith("command.")]
    assert [(m.type, m.context.get("command_id")) for m in answers] == [("command.finished", "k1")]
    assert owner.store.commands["k1"]["status"] == "done"


def test_a_flatten_driven_again_by_a_second_executor_answers_the_operator_once() -> None:
    # found by the fault simulator (l.closed_when_asked, seed 146): the first executor flattened and answered, but
    # its write of the end hung; a second executor found the action still in progress, drove it again and answered
    # again
    first = rig(spreads(1), [follower(1)])

    async def scenario() -> None:
        await deliver(first, cmd("r1", CommandKind.FLATTEN_REQUEST, code=CODE))
        await deliver(first, cmd("k1", CommandKind.FLATTEN_CONFIRM, code=CODE))
        await first.settle()
        [action_id] = first.store.actions
        ended = first.store.actions[action_id]
        first.store.actions[action_id] = ended.model_copy(update={"state": ActionState.IN_PROGRESS,
                                                                  "finished_at": None})  # its end never stored
        second.append(restart(first))  # the broker's events go to its connection from now on
        await second[0].start()
        await second[0].settle()

    second: list[Rig] = []
    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert held(first.broker, "DU001") == {}
    answers = [m for r in (first, *second) for m in r.alerts.alerts() if m.type.startswith("command.")]
    assert [m.type for m in answers] == ["command.finished"]


def test_a_socket_drop_at_the_first_follower_does_not_end_the_flatten_of_the_others() -> None:
    r = rig(spreads(1, 2, 3), [follower(1), follower(2), follower(3)])
    r.broker.drops = 1
    asyncio.run(flatten_all(r))
    assert [held(r.broker, f"DU00{n}") for n in (1, 2, 3)] == [{}, {}, {}]
    assert r.store.commands["k1"]["status"] == "done"


def test_a_firestore_error_on_one_followers_close_is_retried_and_the_flatten_ends_with_everyone_flat() -> None:
    r = rig(spreads(1, 2, 3), [follower(1), follower(2), follower(3)])
    r.store.failures.arm("create_intent")
    asyncio.run(flatten_all(r))
    assert [held(r.broker, f"DU00{n}") for n in (1, 2, 3)] == [{}, {}, {}]
    assert len(r.broker.sent("combo")) == 3


def test_a_flatten_that_cannot_finish_says_who_is_left_and_raises_a_critical_alert() -> None:
    r = rig(spreads(1, 2), [follower(1), follower(2)], action_attempts=2)
    r.ctx.links["gw-advisor"].ready.clear()  # the gateway never comes back
    asyncio.run(flatten_all(r))
    status = r.store.commands["k1"]
    assert status["status"] == "partly_done"  # entries are paused; nobody could be closed
    note = str(status["note"])
    assert "NOT done: f01: gateway gw-advisor not ready; f02: gateway gw-advisor not ready" in note
    assert r.alerts.alert_types().count("command.unfinished") == 1
    assert "command.finished" not in r.alerts.alert_types()


# ── no over-close ────────────────────────────────────────────────────────────────────────────────────────────────


def _exit_in_flight() -> tuple[Rig, MemoryBroker]:
    short, long_ = option(A, 485, -2), option(A, 480, 2)
    broker = MemoryBroker([short, long_], {short.con_id: LegQuote(short.con_id, Decimal("5.00"), Decimal("5.10"))},
                          rest=True)
    r = rig(broker, [follower(1)])
    return r, broker


def test_a_flatten_sent_during_a_time_value_exit_joins_it_and_sends_no_second_close() -> None:
    r, broker = _exit_in_flight()
    clock = r.ctx.clock
    assert isinstance(clock, FixedClock)

    async def scenario() -> None:
        await r.parts.monitor.pass_once(r.ctx.clock.now())  # the exit goes out and rests
        await spin()
        clock.at += timedelta(seconds=5)
        flatten = asyncio.ensure_future(flatten_all(r))
        await spin()
        broker.fill_all()  # the exit fills
        await spin()
        broker.fill_all()  # (anything else that went out fills too)
        await flatten

    asyncio.run(scenario())
    assert [(e["action"], e["qty"]) for e in broker.sent("combo")] == [("SELL", 2)]
    assert held(broker, A) == {}


def test_close_follower_whose_status_write_fails_closes_once_on_redelivery() -> None:
    r, broker = _exit_in_flight()
    r.store.failures.arm("update_claim")  # the claim's status write

    async def scenario() -> None:
        closing = asyncio.ensure_future(deliver(r, cmd("c1", CommandKind.CLOSE_FOLLOWER, scope="f01")))
        for _ in range(4):
            await spin()
            broker.fill_all()
        await closing
        await r.settle()

    asyncio.run(scenario())
    assert [(e["action"], e["qty"]) for e in broker.sent("combo")] == [("SELL", 2)]
    assert held(broker, A) == {}


def test_a_close_is_never_larger_than_what_the_broker_holds_right_before_it_is_sent() -> None:
    r = rig(spreads(1, qty=2), [follower(1)])

    def one_spread_gone() -> None:  # someone's close took one spread out between the decision and the send
        r.broker.on_quote = None
        r.broker.positions_[:] = [option(A, 485, -1), option(A, 480, 1)]

    r.broker.on_quote = one_spread_gone

    async def scenario() -> None:
        await deliver(r, cmd("c1", CommandKind.CLOSE_FOLLOWER, scope="f01"))
        await r.settle()

    asyncio.run(scenario())
    assert [(e["action"], e["qty"]) for e in r.broker.sent("combo")] == [("SELL", 1)]
    assert held(r.broker, A) == {}


# ── the breaker ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_breaker_whose_kill_switch_write_fails_still_pauses_the_follower_and_alerts() -> None:
    r = rig(MemoryBroker(), [follower(1, loss_limit="500")])
    r.store.failures.arm("set_controls")

    async def scenario() -> None:
        for _ in range(2):  # two MTM passes with the loss still there
            with contextlib.suppress(Exception):
                await r.parts.breaker.check(follower(1, loss_limit="500"), loss("-600"), r.ctx.clock.now())
            await r.settle()

    asyncio.run(scenario())
    assert r.store.controls["f01"]["entries_paused"] is True
    assert r.alerts.alert_types().count("risk.daily_loss_breaker") == 1


def test_a_breaker_trip_cut_short_by_a_restart_is_finished_by_the_next_process() -> None:
    first = rig(MemoryBroker(), [follower(1, loss_limit="500")])
    first.store.failures.arm("set_controls", 1000)  # Firestore is down for the rest of this process's life

    async def before_restart() -> None:
        tripping = asyncio.ensure_future(
            first.parts.breaker.check(follower(1, loss_limit="500"), loss("-600"), first.ctx.clock.now()))
        await spin()
        first.ctx.stop.set()  # SIGTERM mid-trip
        with contextlib.suppress(Exception):
            await tripping
        await first.settle()

    asyncio.run(before_restart())
    first.store.failures.armed.clear()
    second = restart(first)

    async def after_restart() -> None:
        await second.start()
        # the loss has recovered meanwhile: the trip still has to be finished
        await second.parts.breaker.check(follower(1, loss_limit="500"), loss("-100"), second.ctx.clock.now())
        await second.settle()

    asyncio.run(after_restart())
    assert second.store.controls["f01"]["entries_paused"] is True
    assert "risk.daily_loss_breaker" in second.alerts.alert_types()


# ── a flatten stops the entries that are still on their way ──────────────────────────────────────────────────────


def tracked_entry(r: Rig, state: IntentState, contracts: int) -> OrderIntent:
    """f01's entry of the day (bull put 485/480) in ``state``, tracked by the rig's executor."""
    now = r.ctx.clock.now()
    entry = OrderIntent(intent_id="entry-20260317-QQQ-bull_put-x-f01", signal_id="20260317-QQQ-bull_put-x",
                        follower_id="f01", gateway_id="gw-advisor", account=A,
                        spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485),
                                      long_strike=Decimal(480)),
                        expiry=now.date(), contracts=contracts, state=state, created_at=now, updated_at=now)
    r.ctx.book.track(entry)
    return entry


def test_a_flatten_cancels_a_submitted_entry_and_closes_what_it_filled_late() -> None:
    r = rig(MemoryBroker(), [follower(1)])
    entry = tracked_entry(r, IntentState.SUBMITTED, 2)

    def late_fill() -> None:  # the cancel meets an order that filled one spread meanwhile
        r.broker.positions_ += [option(A, 485, -1), option(A, 480, 1)]
        r.broker.listener.on_order(OrderUpdate(entry.intent_id, A, 9, 9, "Cancelled", 1, 1))

    r.broker.on_cancel[entry.intent_id] = late_fill
    asyncio.run(flatten_all(r))
    assert {"event": "cancel", "ref": entry.intent_id} in r.broker.journal
    assert [(e["action"], e["qty"]) for e in r.broker.sent("combo")] == [("SELL", 1)]
    assert held(r.broker, A) == {}


class Ticking(FixedClock):
    """A clock whose sleeps pass (a wait with a deadline ends)."""

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def test_a_flatten_closes_what_an_unknown_entry_left_in_the_account_instead_of_waiting_for_it_forever() -> None:
    # fault simulator seed 2409: the entry's order vanished, reconciliation found the spread's legs held and no order
    # (unknown, alerted); the flatten waited for that entry to end, which it never does, and left the account open
    r = rig(MemoryBroker([option(A, 485, -1), option(A, 480, 1)]), [follower(1)], clock=Ticking())
    now = r.ctx.clock.now()
    tracked_entry(r, IntentState.UNKNOWN, 1)
    r.ctx.links["gw-advisor"].since = now  # reconciled after it went unknown: no order of it is at the broker

    assert asyncio.run(asyncio.wait_for(flatten_all(r), 10)) == "done"
    assert [(e["action"], e["qty"]) for e in r.broker.sent("combo")] == [("SELL", 1)]
    assert held(r.broker, A) == {}


def test_a_flatten_waits_for_an_unknown_entry_while_its_gateway_has_not_reconciled_since() -> None:
    r = rig(MemoryBroker([option(A, 485, -1), option(A, 480, 1)]), [follower(1)], clock=Ticking(),
            flatten_entry_wait_s=1.0)
    now = r.ctx.clock.now()
    tracked_entry(r, IntentState.UNKNOWN, 1)
    r.ctx.links["gw-advisor"].since = now - timedelta(seconds=5)  # its order may still be on its way

    assert asyncio.run(asyncio.wait_for(flatten_all(r), 10)) != "done"
    assert r.broker.sent("combo") == []


# ── compensation by moneyness, an exercise sent once ────────────────────────────────────────────────────────────


def test_an_assigned_put_whose_long_put_is_out_of_the_money_is_repaired_by_selling_the_stock_not_exercising() -> None:
    # the demo day: short 485P assigned with QQQ at 484.04; the long 480P is $4.04 out of the money
    broker = MemoryBroker([stock(A, 200), option(A, 480, 2)], underlying=Decimal("484.04"))
    r = rig(broker, [follower(1)])

    async def scenario() -> None:
        await r.parts.monitor.pass_once(r.ctx.clock.now())
        await r.settle()

    asyncio.run(scenario())
    assert not [e for e in broker.journal if e["event"] == "exercise"]
    [sale] = broker.sent("single")
    assert (sale["action"], sale["qty"], sale["con_id"]) == ("SELL", 200, STOCK_CON_ID)
    assert STOCK_CON_ID not in held(broker, A)


def test_an_exercise_is_sent_once_per_assignment_while_the_stock_waits_for_settlement() -> None:
    broker = MemoryBroker([stock(A, 200), option(A, 480, 2)], underlying=Decimal(478), overnight_exercise=True)
    clock = FixedClock()
    r = rig(broker, [follower(1)], clock=clock)

    async def scenario() -> None:
        for _ in range(3):  # passes well beyond compensation_retry_s while IB has not settled the exercise yet
            await r.parts.monitor.pass_once(clock.now())
            await r.settle()
            clock.at += timedelta(seconds=400)

    asyncio.run(scenario())
    assert [e["qty"] for e in broker.journal if e["event"] == "exercise"] == [2]
    assert broker.sent("single") == []  # nor is the stock sold under the exercise


# ── unknown follower ids ─────────────────────────────────────────────────────────────────────────────────────────


def test_a_command_for_an_unknown_follower_is_rejected_and_pauses_nobody() -> None:
    r = rig(MemoryBroker(), [follower(1)])
    status = asyncio.run(deliver(r, cmd("c1", CommandKind.PAUSE, scope="f0l")))

    assert status == "rejected"
    assert "f0l" not in r.store.controls
    assert "unknown follower" in str(r.store.commands["c1"]["note"])


def test_a_flatten_request_for_an_unknown_follower_is_rejected() -> None:
    r = rig(MemoryBroker(), [follower(1)])
    status = asyncio.run(deliver(r, cmd("r1", CommandKind.FLATTEN_REQUEST, scope="f0l", code=CODE)))
    assert status == "rejected"


def test_closes_of_one_follower_are_recorded_per_position_and_reason_not_per_second() -> None:
    r = rig(spreads(1), [follower(1)])
    async def scenario() -> None:
        await deliver(r, cmd("c1", CommandKind.CLOSE_FOLLOWER, scope="f01"))
        await r.settle()

    asyncio.run(scenario())
    [close] = [t.intent for t in r.ctx.book.tracked.values() if t.intent.kind is IntentKind.FLATTEN]
    assert close.intent_id.endswith("-4851-cmd-c1-1")


def test_a_close_of_the_follower_without_an_outcome_holds_the_flatten_part_back_instead_of_doubling_it() -> None:
    r = rig(spreads(1), [follower(1)], action_attempts=2)
    now = r.ctx.clock.now()
    # a close recorded on a gateway this process does not drive: its outcome cannot be followed from here
    stranded = OrderIntent(intent_id="exit-20260317-QQQ-bull_put-x-f01-4851-exit-1", kind=IntentKind.EXIT,
                           signal_id="20260317-QQQ-bull_put-x", follower_id="f01", gateway_id="gw-elsewhere",
                           account=A, spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485),
                                                    long_strike=Decimal(480)),
                           expiry=now.date(), contracts=2, state=IntentState.WORKING, created_at=now, updated_at=now)
    r.ctx.book.track(stranded)
    asyncio.run(asyncio.wait_for(flatten_all(r), 10))
    assert r.broker.sent("combo") == []
    assert r.store.commands["k1"]["status"] == "partly_done"
    assert "has no final outcome yet" in str(r.store.commands["k1"]["note"])


def test_an_exercise_the_broker_did_not_carry_out_is_found_the_next_morning_and_the_stock_sold() -> None:
    broker = MemoryBroker([stock(A, 200), option(A, 480, 2)], underlying=Decimal(478), overnight_exercise=True)
    clock = FixedClock()
    r = rig(broker, [follower(1)], clock=clock)

    async def scenario() -> None:
        await r.parts.monitor.pass_once(clock.now())  # 11:00: the long put is exercised
        await r.settle()
        clock.at += timedelta(hours=19)  # 06:00 the next day: the stock is still there, nothing settled it
        await r.parts.monitor.pass_once(clock.now())
        await r.settle()

    asyncio.run(scenario())
    assert [e["qty"] for e in broker.journal if e["event"] == "exercise"] == [2]  # never sent again
    assert "position.exercise_not_done" in r.alerts.alert_types()
    [sale] = broker.sent("single")
    assert (sale["action"], sale["qty"], sale["con_id"]) == ("SELL", 200, STOCK_CON_ID)
    assert r.store.claims["exercise-f01-untracked-20260317"]["outcome"] == "not carried out"
