"""Each invariant fails on a hand-made bad outcome, with a message that names what broke, and a good day passes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from faultsim.evidence import Evidence, ExecutionFacts, FollowerFacts, LinkFacts, Strike
from faultsim.invariants import CHECKS, check_all
from spreadpilot.models import IntentState, OrderIntent, Spread, StateChange, Strategy

AT = datetime(2026, 3, 17, 13, 31, tzinfo=UTC)
REF = "entry-20260317-QQQ-bull_put-0000abcd-f01"
REF2 = "entry-20260317-QQQ-bull_put-0000abcd-f02"


def intent(ref: str = REF, follower: str = "f01", state: IntentState = IntentState.FILLED, filled: int = 1,
           account: str = "DU1") -> OrderIntent:
    return OrderIntent(intent_id=ref, signal_id="20260317-QQQ-bull_put-0000abcd", follower_id=follower,
                       gateway_id="gw-1", account=account,
                       spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480)),
                       expiry=date(2026, 3, 17), contracts=1, state=state, filled_qty=filled,
                       history=(StateChange(state=state, at=AT, note="done"),), created_at=AT, updated_at=AT)


def order_line(ref: str = REF, perm: int = 100, account: str = "DU1", modify: bool = False) -> dict[str, Any]:
    return {"event": "order", "ts": AT.isoformat(), "account": account, "order_id": 1, "perm_id": perm,
            "order_ref": ref, "what_if": False, "modify": modify, "client_id": 2}


def execution(exec_id: str, con_id: int, ref: str = REF, price: str = "1.50", commission: str = "0.65",
              foreign: bool = False) -> ExecutionFacts:
    return ExecutionFacts(exec_id, ref, "DU1", "gw-1", "OPT", con_id, 1, Decimal(price), Decimal(commission), foreign)


def fill_doc(exec_id: str, price: str = "1.50", commission: str = "0.65") -> dict[str, Any]:
    return {"exec_id": exec_id, "intent_id": REF, "qty": 1, "price": price, "commission": commission}


def good_day() -> Evidence:
    """One follower, one filled spread, everything recorded."""
    i = intent()
    return Evidence(
        day="20260317", followers={"f01": FollowerFacts("f01", "DU1", "gw-1", trades=True)},
        signals=["20260317-QQQ-bull_put-0000abcd"], entry_refs={REF}, intents={REF: i.to_doc()},
        fills={"0000aaaa.00000001.01.01": fill_doc("0000aaaa.00000001.01.01"),
               "0000aaaa.00000001.02.01": fill_doc("0000aaaa.00000001.02.01", price="0.50")},
        journal=[order_line(), order_line(modify=True)],
        executions=[execution("0000aaaa.00000001.01.01", 1), execution("0000aaaa.00000001.02.01", 2, price="0.50")],
        sent=[{"op": "place", "order_ref": REF, "t": 12.5}], created={REF: 11.0}, entry_opens=10.0,
        books={"p1": {REF: i}},
        links=[LinkFacts("p1", "gw-1", ready=True, connected=True, seconds_after_clear=30.0)],
    )


def broken(ev: Evidence, name: str) -> list[str]:
    return [v.message for v in CHECKS[name](ev)[1]]


def test_a_good_day_keeps_every_invariant() -> None:
    applicable, violations = check_all(good_day())
    assert violations == []
    assert {"a.one_order_per_intent", "c.fills_recorded", "d.gateway_ready", "h.outcome_matches_broker"} <= applicable


def test_two_orders_for_one_order_ref_break_a() -> None:
    ev = good_day()
    ev.journal.append(order_line(perm=101))
    assert broken(ev, "a.one_order_per_intent") == [
        f"orderRef {REF}: 2 orders at the broker (perm 100 order 1 client 2 at 09:31:00.000 ET, perm 101 order 1 "
        "client 2 at 09:31:00.000 ET)"]


def test_two_spreads_for_one_account_on_one_day_break_f() -> None:
    ev = good_day()
    other = "entry-20260317-QQQ-bull_put-9999ffff-f01"
    ev.entry_refs.add(other)
    ev.journal.append(order_line(ref=other, perm=102))
    assert broken(ev, "f.one_spread_per_day") == [f"account DU1: 2 of the day's spreads sent ({REF}, {other})"]


def test_an_intent_stuck_in_planned_breaks_b() -> None:
    ev = good_day()
    ev.intents[REF] = intent(state=IntentState.PLANNED, filled=0).to_doc()
    assert any("stuck in planned" in m for m in broken(ev, "b.intent_settles"))


def test_a_trading_follower_without_an_intent_breaks_b_and_says_the_message_was_dead_lettered() -> None:
    ev = good_day()
    ev.followers["f02"] = FollowerFacts("f02", "DU2", "gw-1", trades=True)
    ev.dead_lettered = ["sig-1"]
    assert broken(ev, "b.intent_settles") == [
        "follower f02 (DU2) has no intent for the day (signal message dead-lettered: sig-1)"]


def test_unknown_needs_a_critical_alert_and_an_order_that_was_sent() -> None:
    ev = good_day()
    ev.intents[REF] = intent(state=IntentState.UNKNOWN, filled=0).to_doc()
    ev.sent = []
    assert any("unknown without a CRITICAL alert" in m for m in broken(ev, "b.intent_settles"))
    assert any("no order for it was ever sent" in m for m in broken(ev, "b.unknown_has_order"))
    ev.alerts = [{"type": "order.unknown", "severity": "CRITICAL", "order_ref": REF}]
    assert broken(ev, "b.intent_settles") == []


def test_a_step_from_planned_to_unknown_breaks_b_even_when_the_intent_ends_filled() -> None:
    """A slow quote taken for a lost order (planned → unknown, nothing sent), healed later by reconciliation."""
    ev = good_day()
    healed = intent().model_copy(update={"history": (
        StateChange(state=IntentState.PLANNED, at=AT),
        StateChange(state=IntentState.UNKNOWN, at=AT, note="no acknowledgement: gw-1: quote: no answer in 2.0 s"),
        StateChange(state=IntentState.SUBMITTED, at=AT, note="sending at -1.50"),
        StateChange(state=IntentState.FILLED, at=AT, note="done"))})
    ev.intents[REF] = healed.to_doc()
    assert broken(ev, "b.unknown_has_order") == [
        f"intent {REF} (f01) went from planned to unknown before any order was sent, 1x "
        "('no acknowledgement: gw-1: quote: no answer in 2.0 s')"]
    sent_first = healed.model_copy(update={"history": (
        StateChange(state=IntentState.PLANNED, at=AT), StateChange(state=IntentState.SUBMITTED, at=AT),
        StateChange(state=IntentState.UNKNOWN, at=AT, note="no acknowledgement"),
        StateChange(state=IntentState.FILLED, at=AT))})
    ev.intents[REF] = sent_first.to_doc()
    assert broken(ev, "b.unknown_has_order") == []


def test_an_execution_missing_from_fills_breaks_c() -> None:
    ev = good_day()
    del ev.fills["0000aaaa.00000001.02.01"]
    assert broken(ev, "c.fills_recorded") == [
        f"execution 0000aaaa.00000001.02.01 (orderRef {REF}, account DU1, gw-1) is not in fills"]


def test_a_correction_recorded_beside_the_original_breaks_c() -> None:
    ev = good_day()
    ev.executions.append(execution("0000aaaa.00000001.01.02", 1, price="1.51"))
    ev.fills["0000aaaa.00000001.01.02"] = fill_doc("0000aaaa.00000001.01.02", price="1.51")
    assert any("recorded 2 times" in m for m in broken(ev, "c.fills_recorded"))


def test_a_correction_that_replaces_the_original_keeps_c() -> None:
    ev = good_day()
    ev.executions.append(execution("0000aaaa.00000001.01.02", 1, price="1.51"))
    ev.fills["0000aaaa.00000001.01.01"] = fill_doc("0000aaaa.00000001.01.01", price="1.51")
    assert broken(ev, "c.fills_recorded") == []


def test_a_fill_without_its_commission_breaks_c_commission() -> None:
    ev = good_day()
    ev.fills["0000aaaa.00000001.01.01"] = fill_doc("0000aaaa.00000001.01.01", commission="0")
    assert broken(ev, "c.fill_commission") == [
        f"fills/0000aaaa.00000001.01.01 commission 0, the broker 0.65 (orderRef {REF})"]


def test_a_connected_gateway_that_never_becomes_ready_breaks_d() -> None:
    ev = good_day()
    ev.links = [LinkFacts("p1", "gw-1", ready=False, connected=True, seconds_after_clear=30.0,
                          link_error="its link task died: AckTimeout()")]
    assert broken(ev, "d.gateway_ready") == [
        "gateway gw-1 ready in no process 30 s after its faults cleared (p1: connected=True ready=False owned=True, "
        "its link task died: AckTimeout())"]


def test_a_gateway_ready_in_the_process_that_holds_its_lease_keeps_d() -> None:
    ev = good_day()
    ev.links.append(LinkFacts("b1", "gw-1", ready=False, connected=False, seconds_after_clear=30.0, owned=False))
    assert broken(ev, "d.gateway_ready") == []


def test_memory_ahead_of_the_store_breaks_e() -> None:
    ev = good_day()
    ev.books["p1"][REF] = intent(state=IntentState.WORKING, filled=0)
    messages = broken(ev, "e.memory_matches_store")
    assert len(messages) == 1
    assert "state: memory" in messages[0]
    assert REF in messages[0]


@pytest.mark.parametrize("named", [False, True])
def test_a_malformed_document_must_be_named_by_an_alert_and_stop_nobody(named: bool) -> None:
    ev = good_day()
    ev.malformed = {"followers/f09": "multiplier_abc"}
    ev.followers["f02"] = FollowerFacts("f02", "DU2", "gw-1", trades=True)
    if named:
        ev.alerts = [{"type": "store.malformed", "severity": "WARNING", "message": "followers/f09 is malformed"}]
    messages = broken(ev, "g.malformed_isolated")
    assert ("no alert names the malformed document followers/f09 (multiplier_abc)" in messages) is not named
    assert "with followers/f09 malformed, followers f02 got no intent" in messages


def test_a_rejected_intent_whose_order_still_works_breaks_h() -> None:
    ev = good_day()
    ev.intents[REF] = intent(state=IntentState.REJECTED, filled=0).to_doc()
    ev.live_orders = [{"order_ref": REF, "perm_id": 100, "account": "DU1", "status": "Submitted"}]
    assert broken(ev, "h.outcome_matches_broker") == [
        f"intent {REF} is rejected with 0 filled; the broker filled 1",
        f"intent {REF} is rejected but its order perm 100 is still Submitted at the broker"]


def test_foreign_executions_do_not_count_as_ours() -> None:
    ev = good_day()
    ev.executions.append(execution("0000bbbb.00000001.01.01", 1, ref="ops/hedge", foreign=True))
    assert check_all(ev)[1] == []


def held(*struck: Strike) -> Evidence:
    """f01's intent recorded at 11 s and its first order sent at 25 s."""
    ev = good_day()
    ev.sent = [{"op": "place", "order_ref": REF, "t": 25.0}]
    ev.struck = list(struck)
    return ev


def test_an_entry_held_back_by_a_fault_on_another_followers_intent_breaks_i() -> None:
    ev = held(Strike("firestore.fail_before", 11.0, (f"orders/{REF2}",)))
    assert broken(ev, "i.entry_not_held") == [
        f"intent {REF} (f01) recorded at 11.0 s sent its first order 14.0 s later, held by faults not its own: "
        f"firestore.fail_before on orders/{REF2} at 11.0 s"]


def test_an_entry_held_back_with_nothing_struck_breaks_i_too() -> None:
    assert broken(held(), "i.entry_not_held") == [
        f"intent {REF} (f01) recorded at 11.0 s sent its first order 14.0 s later, held by faults not its own: "
        "none struck"]


@pytest.mark.parametrize("strike", [
    Strike("firestore.slow", 11.0, (f"orders/{REF}",)),  # its own intent
    Strike("firestore.fail_before", 10.5, ("claims/entry-day-f01-2026-03-17",)),  # its own day claim
    Strike("firestore.fail_before", 12.0, ()),  # a query: nobody's in particular
    Strike("broker.drop", 3.0),  # a gateway down since before: its effect outlasts the strike
    Strike("process.crash", 20.0),
    # seed 4526: the entry's own read of its kill switches at the opening was slow
    Strike("firestore.slow", 11.0, ("controls/global", "controls/f01")),
    # seed 7610: a query of the gateway's first reconciliation, struck before the intent was recorded, still slow
    # after it (the gateway is not ready until that reconciliation ends)
    Strike("firestore.slow", 8.8, (), until=16.8),
])
def test_a_fault_on_the_entrys_own_path_excuses_the_wait(strike: Strike) -> None:
    assert broken(held(strike), "i.entry_not_held") == []


@pytest.mark.parametrize("strike", [
    Strike("firestore.slow", 11.0, ("controls/global", "controls/f02")),  # another follower's kill-switch read
    Strike("firestore.slow", 8.8, (), until=9.5),  # a slow query that was over before the intent was recorded
])
def test_a_fault_on_another_path_or_over_before_the_intent_does_not_excuse_the_wait(strike: Strike) -> None:
    assert len(broken(held(strike), "i.entry_not_held")) == 1


def test_the_wait_counts_from_the_window_opening_for_an_intent_recorded_before_it() -> None:
    ev = held()
    ev.created = {REF: 2.0}
    ev.entry_opens = 20.0  # recorded early; the entry may go at 20 s and went at 25 s
    assert broken(ev, "i.entry_not_held") == []


def test_a_failed_write_of_the_entrys_own_intent_before_the_window_opens_still_excuses_it() -> None:
    # seed 1986: its create failed after committing at 6 s; the redelivery that read it back came after 10 s
    ev = held(Strike("firestore.fail_after_commit", 6.0, (f"orders/{REF}",)))
    ev.created = {REF: 6.0}
    assert broken(ev, "i.entry_not_held") == []


# ── the day after the entry: closes, the follower's own positions, exits and flattens ────────────────────────────
SHORT, LONG = 700048501, 700048001  # the 485 and 480 puts
CLOSE = "exit-20260317-QQQ-bull_put-0000abcd-f01-700048501-time_value-1"


def legs_of(*legs: tuple[int, str, int]) -> list[dict[str, Any]]:
    return [{"con_id": con_id, "strike": str(strike), "right": "P", "expiry": "2026-03-17", "action": action,
             "ratio": 1} for con_id, action, strike in legs]


def combo(ref: str, perm: int, action: str, qty: int, ts: datetime = AT, foreign: bool = False) -> dict[str, Any]:
    return {**order_line(ref, perm), "ts": ts.isoformat(), "action": action, "qty": qty, "foreign": foreign,
            "legs": legs_of((SHORT, "SELL", 485), (LONG, "BUY", 480))}


def fills(perm: int, action: str, qty: int, ts: datetime = AT, foreign: bool = False) -> list[dict[str, Any]]:
    short_side, long_side = ("SLD", "BOT") if action == "BUY" else ("BOT", "SLD")
    base = {"event": "fill", "ts": ts.isoformat(), "account": "DU1", "perm_id": perm, "qty": qty, "foreign": foreign}
    return [{**base, "exec_id": f"{perm:08x}.00000001.01.01", "sec_type": "OPT", "con_id": SHORT, "side": short_side},
            {**base, "exec_id": f"{perm:08x}.00000001.02.01", "sec_type": "OPT", "con_id": LONG, "side": long_side},
            {**base, "exec_id": f"{perm:08x}.00000001.00.01", "sec_type": "BAG", "con_id": 28812380,
             "side": "BOT" if action == "BUY" else "SLD"}]


def day_after(*lines: dict[str, Any]) -> Evidence:
    """One follower who entered 2 spreads, then ``lines``."""
    ev = good_day()
    ev.start = AT
    ev.journal = [combo(REF, 100, "BUY", 2), *fills(100, "BUY", 2), *lines]
    return ev


def test_a_close_that_fits_what_is_held_keeps_j() -> None:
    assert broken(day_after(combo(CLOSE, 200, "SELL", 2), *fills(200, "SELL", 2)), "j.close_within_position") == []


def test_a_close_larger_than_the_position_breaks_j() -> None:
    assert broken(day_after(combo(CLOSE, 200, "SELL", 3)), "j.close_within_position") == [
        f"{CLOSE} (SELL 3) reached the broker at 09:31:00.000 ET: DU1 holds -2 of {SHORT}, 0 of it already being "
        "closed",
        f"{CLOSE} (SELL 3) reached the broker at 09:31:00.000 ET: DU1 holds 2 of {LONG}, 0 of it already being closed"]


def test_a_second_close_while_the_first_is_working_breaks_j() -> None:
    # a flatten during a time-value exit: the two SELLs together would turn the short leg long
    second = CLOSE.replace("exit-", "flatten-").replace("time_value", "flatten-FLAT01")
    found = broken(day_after(combo(CLOSE, 200, "SELL", 2), combo(second, 201, "SELL", 2)), "j.close_within_position")
    assert len(found) == 2
    assert all(f"{second} (SELL 2)" in m and "2 of it already being closed" in m for m in found)


def test_a_close_after_the_first_was_cancelled_keeps_j() -> None:
    cancel = {"event": "cancel", "ts": AT.isoformat(), "account": "DU1", "perm_id": 200, "order_ref": CLOSE}
    assert broken(day_after(combo(CLOSE, 200, "SELL", 2), cancel, combo(CLOSE[:-1] + "2", 201, "SELL", 2)),
                  "j.close_within_position") == []


def test_trading_a_contract_the_account_held_before_the_day_breaks_k() -> None:
    ev = day_after()
    ev.held_before = {"DU1": {LONG: 1}}  # the follower's own 480 put, bought by hand
    assert broken(ev, "k.others_positions_kept") == [
        f"{REF} (BUY 2) trades {LONG}, which DU1 held before the day (not ours)"]


def test_an_exit_that_came_due_and_left_the_spread_open_breaks_l() -> None:
    ev = day_after()
    ev.events = [{"kind": "exit", "t": 30.0, "underlying": "484.50", "near": "1.00"}]
    assert broken(ev, "l.closed_when_asked") == [
        f"DU1 still holds 2 of {LONG} after the exit that came due",
        f"DU1 still holds -2 of {SHORT} after the exit that came due"]
    ev.journal += [combo(CLOSE, 200, "SELL", 2), *fills(200, "SELL", 2)]
    assert broken(ev, "l.closed_when_asked") == []


def test_an_exit_that_leaves_a_spread_it_did_not_make_due_alone_keeps_l() -> None:
    ev = day_after()
    ev.events = [{"kind": "exit", "t": 30.0, "underlying": "490.00", "near": "1.00"}]  # 485 is $5 out of the money
    assert broken(ev, "l.closed_when_asked") == []


def test_a_confirmed_flatten_must_end_flat_with_one_answer_or_it_breaks_l() -> None:
    later = datetime(2026, 3, 17, 13, 32, tzinfo=UTC)
    ev = day_after(combo(CLOSE.replace("exit-", "flatten-"), 200, "SELL", 2, later), *fills(200, "SELL", 2, later))
    ev.events = [{"kind": "flatten_confirm", "t": 45.0, "command_id": "flatten-confirm"}]
    answer = {"type": "command.finished", "severity": "WARNING", "context": {"command_id": "flatten-confirm"}}
    ev.alerts = [answer]
    assert broken(ev, "l.closed_when_asked") == []
    ev.alerts = [answer, {**answer, "type": "command.unfinished"}]
    assert broken(ev, "l.closed_when_asked") == [
        "the confirmed flatten got 2 answers (['command.finished', 'command.unfinished']), not one"]


def test_a_foreign_fill_after_the_flatten_is_not_the_flattens_to_close() -> None:
    later = datetime(2026, 3, 17, 13, 33, tzinfo=UTC)
    ev = day_after(combo("manual-hedge-1", 300, "BUY", 1, later, foreign=True),
                   *fills(300, "BUY", 1, later, foreign=True))
    ev.journal = [line for line in ev.journal if line.get("perm_id") != 100]  # only the hand trade is held
    ev.events = [{"kind": "flatten_confirm", "t": 45.0, "command_id": "flatten-confirm"}]
    ev.alerts = [{"type": "command.finished", "severity": "WARNING", "context": {"command_id": "flatten-confirm"}}]
    assert broken(ev, "l.closed_when_asked") == []


def test_an_operator_action_left_in_progress_breaks_m() -> None:
    ev = good_day()
    ev.actions = {"flatten-FLAT01": {"kind": "flatten", "scope": "all", "state": "done", "parts": []},
                  "flatten-FLAT01:f02": {"kind": "flatten", "scope": "f02", "state": "in_progress", "parts": [
                      {"key": "flatten:f02", "state": "pending", "attempts": 2, "note": "gateway gw-2 not ready"}]}}
    assert broken(ev, "m.action_ends") == [
        "operator action flatten-FLAT01:f02 (flatten f02) is still in_progress: flatten:f02 pending after 2 "
        "attempt(s): gateway gw-2 not ready"]
    ev.actions["flatten-FLAT01:f02"]["state"] = "done"
    assert broken(ev, "m.action_ends") == []


# ── the daily-loss breaker ───────────────────────────────────────────────────────────────────────────────────────
def lost(amount: str, limit: str = "300") -> Evidence:
    ev = good_day()
    ev.limits = {"f01": Decimal(limit)}
    ev.daily_pnl = {"f01": Decimal(amount)}
    return ev


def breaker_alert() -> dict[str, object]:
    return {"type": "risk.daily_loss_breaker", "severity": "CRITICAL", "follower_id": "f01", "context": {}}


def test_a_loss_beyond_the_limit_without_a_trip_breaks_n() -> None:
    assert broken(lost("-450"), "n.breaker_trips") == [
        "f01 lost -450 today (limit 300): entries NOT paused, 0 breaker alert(s), not one"]


def test_a_trip_that_paused_entries_but_never_answered_breaks_n_too() -> None:
    ev = lost("-450")
    ev.controls = {"f01": {"entries_paused": True}}
    assert broken(ev, "n.breaker_trips") == [
        "f01 lost -450 today (limit 300): entries paused, 0 breaker alert(s), not one"]


def test_a_trip_with_entries_paused_and_one_alert_keeps_n_and_a_loss_within_the_limit_or_no_limit_needs_none() -> None:
    ev = lost("-450")
    ev.controls = {"f01": {"entries_paused": True}}
    ev.alerts = [breaker_alert()]
    assert CHECKS["n.breaker_trips"](ev) == (True, [])
    assert CHECKS["n.breaker_trips"](lost("-299.99")) == (False, [])
    assert CHECKS["n.breaker_trips"](lost("-5000", limit="0")) == (False, [])


# ── foreign activity ─────────────────────────────────────────────────────────────────────────────────────────────
T0 = datetime(2026, 3, 17, 13, 30, tzinfo=UTC)


def foreign_at_start() -> Evidence:
    ev = good_day()
    ev.start = T0
    ev.journal.append({"event": "order", "ts": T0.isoformat(), "account": "DU1", "order_ref": "", "foreign": True})
    return ev


def foreign_alert(follower_id: str = "f01") -> dict[str, object]:
    return {"type": "follower.foreign_activity", "severity": "CRITICAL", "follower_id": follower_id,
            "message": "foreign activity in DU1", "context": {}}


def test_a_foreign_order_from_the_start_without_a_pause_breaks_o() -> None:
    assert broken(foreign_at_start(), "o.foreign_paused") == [
        "f01's account DU1 held a foreign order from the start: entries NOT paused, 0 foreign-activity alert(s), "
        "not one"]
    twice = foreign_at_start()
    twice.controls = {"f01": {"entries_paused": True}}
    twice.alerts = [foreign_alert(), foreign_alert()]
    assert broken(twice, "o.foreign_paused") == [
        "f01's account DU1 held a foreign order from the start: entries paused, 2 foreign-activity alert(s), not one"]


def test_a_paused_follower_with_one_alert_keeps_o_and_an_alert_without_foreign_activity_breaks_it() -> None:
    ev = foreign_at_start()
    ev.controls = {"f01": {"entries_paused": True}}
    ev.alerts = [foreign_alert()]
    assert CHECKS["o.foreign_paused"](ev) == (True, [])
    false_alarm = good_day()
    false_alarm.alerts = [foreign_alert()]
    assert broken(false_alarm, "o.foreign_paused") == [
        "f01 was alerted for foreign activity, but no foreign order was placed in DU1: foreign activity in DU1"]
