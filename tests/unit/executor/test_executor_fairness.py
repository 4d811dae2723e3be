"""Fairness: nobody is always last, and everyone's ladder follows the signal's one price path."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from executor_world import follower, run, settings, signal, started, trade_one_signal, world

from executor.price_path import daily_order
from spreadpilot.clock import NEW_YORK, SimClock
from spreadpilot.fill_quality import credit_spread, fill_quality
from spreadpilot.models import IntentState, make_signal_id

FOLLOWERS = [follower(n) for n in range(1, 13)]


def last_sent(day: date) -> str:
    base = signal()
    sig = base.model_copy(update={"date": day, "signal_id": make_signal_id(day, "QQQ", base.spread, 2)})
    clock = SimClock(datetime.combine(day, time(9, 45), tzinfo=NEW_YORK), 600.0, __import__("time").time())
    w = world(FOLLOWERS, clock=clock)

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(sig)
        await engine.idle()

    run(scenario)
    return str(w.orders()[-1]["account"])


def test_the_same_follower_is_not_last_on_two_consecutive_days() -> None:
    assert last_sent(date(2026, 3, 17)) != last_sent(date(2026, 3, 18))


def test_the_daily_order_is_a_reproducible_permutation() -> None:
    ids = [f.id for f in FOLLOWERS]
    assert daily_order(ids, date(2026, 3, 17)) == daily_order(ids, date(2026, 3, 17))
    assert sorted(daily_order(ids, date(2026, 3, 17))) == ids


def test_every_follower_climbs_the_same_price_path_and_fills_at_the_same_credit() -> None:
    w = world(FOLLOWERS, ladder_step_s=5)
    w.broker.default_fill_credit = w.broker.mid_credit - 2 * settings().ladder_tick  # fills at the third step

    trade_one_signal(w)
    rows = fill_quality(w.store.intents.values())
    assert {i.state for i in w.store.intents.values()} == {IntentState.FILLED}
    assert credit_spread(rows) == Decimal("0.00")
    assert {r.vs_mid for r in rows} == {Decimal("-0.02")}
    assert all(r.to_submit_s is not None and r.to_fill_s is not None and r.to_fill_s >= r.to_submit_s for r in rows)
