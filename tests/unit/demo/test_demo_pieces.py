from datetime import UTC, datetime
from pathlib import Path

import pytest

from demo.scenario import load_scenario
from demo.summary import broker_orders, fan_out_timing
from demo.timeline import build_timeline
from spreadpilot.errors import ConfigError

SCENARIOS = Path(__file__).resolve().parents[3] / "local" / "scenarios"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_has_a_timeline(path: Path) -> None:
    scenario = load_scenario(path)
    events = build_timeline(scenario)
    assert events == sorted(events)
    assert any(e.kind == "tick" and e.payload["job"] == "pnl-daily" for e in events)


def test_a_scenario_with_a_mistake_says_what_and_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndate: 2026-13-40\nmarket: {underlying: {}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml"):
        load_scenario(bad)


def test_broker_orders_counts_modifies_of_one_order_once_and_a_second_order_twice() -> None:
    journal = [
        {"event": "order", "order_ref": "r1", "account": "DU1", "order_id": 1, "perm_id": 10, "what_if": True},
        {"event": "order", "order_ref": "r1", "account": "DU1", "order_id": 1, "perm_id": 10, "what_if": False},
        {"event": "order", "order_ref": "r1", "account": "DU1", "order_id": 1, "perm_id": 10, "what_if": False},
        {"event": "order", "order_ref": "r2", "account": "DU2", "order_id": 2, "perm_id": 11, "what_if": False},
        {"event": "order", "order_ref": "r2", "account": "DU2", "order_id": 3, "perm_id": 12, "what_if": False},
    ]
    counted = broker_orders(journal)
    assert counted["r1"]["orders"] == 1
    assert counted["r2"]["orders"] == 2


def test_fan_out_timing_measures_from_publish_and_from_first_submit() -> None:
    def at(second: int) -> str:
        return datetime(2026, 3, 17, 13, 30, second, tzinfo=UTC).isoformat()

    signals = [{"timeline": [{"event": "published", "at": at(0)}]}]
    orders = [
        {"kind": "entry", "history": [{"state": "submitted", "at": at(10)}, {"state": "working", "at": at(12)}]},
        {"kind": "entry", "history": [{"state": "submitted", "at": at(11)}, {"state": "filled", "at": at(20)}]},
    ]
    timings = fan_out_timing(signals, orders, speed=10)
    assert timings["signal_to_all_orders_sim_s"] == 20
    assert timings["fan_out_sim_s"] == 10
    assert timings["fan_out_s"] == 1
