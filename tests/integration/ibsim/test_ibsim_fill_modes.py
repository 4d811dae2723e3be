"""Fill modes (delayed, partial) and a scenario-driven day: price path and scheduled faults."""

from __future__ import annotations

from pathlib import Path

from ibsim_harness import bull_put_spread, combo_mid, config, credit_order, run, session, wait_until

from ibsim.config import FillMode


def test_delayed_fills_acknowledge_first_and_fill_later() -> None:
    async def body() -> None:
        async with session(config(fill_mode=FillMode.DELAYED, fill_delay_s=0.05)) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 2, "DU001", "d"))
            await wait_until(lambda: trade.orderStatus.status == "Submitted")
            assert trade.fills == []
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            assert len(trade.fills) == 2

    run(body)


def test_partial_mode_fills_one_contract_at_a_time() -> None:
    async def body() -> None:
        async with session(config(fill_mode=FillMode.PARTIAL, fill_delay_s=0.02)) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 3, "DU001", "p"))
            filled_steps: list[float] = []
            trade.statusEvent += lambda t: filled_steps.append(t.orderStatus.filled)
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            assert [f for f in filled_steps if f] == [1.0, 2.0, 3.0]
            assert len(trade.fills) == 6

    run(body)


def test_a_scenario_drives_the_underlying_and_fires_its_faults_at_their_times(tmp_path: Path) -> None:
    scenario = tmp_path / "day.yaml"
    scenario.write_text('name: t\ndate: 2026-03-17\nmarket:\n  underlying: {"10:00": 480.0, "11:00": 470.0}\n'
                        'faults:\n  - {at: "10:30", kind: connectivity_lost}\n', encoding="utf-8")

    async def body() -> None:
        async with session(config(scenario_path=str(scenario))) as (sim, [ib]):
            codes: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
            assert round(sim.broker.underlying(), 2) == 480.0
            sim.advance(30 * 60)
            assert round(sim.broker.underlying(), 2) == 475.0
            await wait_until(lambda: codes == [1100])
            assert [e["kind"] for e in sim.journal.events if e["event"] == "fault"] == ["connectivity_lost"]

    run(body)
