from datetime import UTC, datetime, timedelta
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
    if scenario.overnight:  # a night between trading days: the demo plays its faults, no trading-day job
        assert {e.kind for e in events} == {"fault"}
    else:
        assert any(e.kind == "tick" and e.payload["job"] == "pnl-daily" for e in events)


def test_a_scenario_with_a_mistake_says_what_and_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndate: 2026-13-40\nmarket: {underlying: {}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml"):
        load_scenario(bad)


def test_a_played_day_is_the_shipped_one_day_scenario_on_its_own_date() -> None:
    played = load_scenario(SCENARIOS / "month-end-days.yaml").day_list()
    assignment = load_scenario(SCENARIOS / "assignment-day.yaml")
    first = played[0]
    assert first.date.isoformat() == "2026-03-30"
    assert [e.row["Data"] for e in first.sheet] == ["2026-03-30"]  # the row moved with the day
    assert [{k: v for k, v in e.row.items() if k != "Data"} for e in first.sheet] == [
        {k: v for k, v in e.row.items() if k != "Data"} for e in assignment.sheet]
    assert [(f.at, f.kind, f.follower) for f in first.faults] == [(f.at, f.kind, f.follower) for f in assignment.faults]
    assert first.market == assignment.market


@pytest.mark.parametrize(("play", "says"), [("no-such-day", "not found"), ("month-end-days", "days of its own")])
def test_a_day_that_plays_what_cannot_be_played_says_what_and_where(tmp_path: Path, play: str, says: str) -> None:
    (tmp_path / "month-end-days.yaml").write_text((SCENARIOS / "month-end-days.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    for name in ("assignment-day", "itm-expiry-day", "pin-risk-day"):
        (tmp_path / f"{name}.yaml").write_text((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: x\nfollowers: 1\ndays:\n  - {{date: 2026-03-30, play: {play}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"bad.yaml: days.0.play: .*{says}"):
        load_scenario(bad)


def test_two_scenarios_that_play_each_other_are_refused_not_a_recursion(tmp_path: Path) -> None:
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nfollowers: 1\ndays:\n  - {{date: 2026-03-30, play: {other}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"a.yaml: days.0.play: .*b.yaml has days of its own"):
        load_scenario(tmp_path / "a.yaml")


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


def test_on_a_half_day_the_watchdog_is_ticked_until_the_13_00_close_not_until_16_00() -> None:
    scenario = load_scenario(Path("local/scenarios/half-day.yaml"))
    ticks = [e.at for e in build_timeline(scenario) if e.payload.get("job") == "watchdog"]
    assert ticks
    assert max(ticks).astimezone(UTC) == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 13:00 EST


def test_an_overnight_scenario_plays_past_midnight_and_its_faults_after_midnight_fall_on_the_next_date() -> None:
    scenario = load_scenario(SCENARIOS / "restart-night.yaml")
    assert scenario.overnight
    start, end = scenario.span()
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (datetime(2026, 12, 9, 4, 40, tzinfo=UTC),
                                                            datetime(2026, 12, 9, 5, 45, tzinfo=UTC))
    faults = [(e.at.astimezone(UTC), e.payload["kind"], e.label) for e in build_timeline(scenario)]
    assert faults == [
        (datetime(2026, 12, 9, 4, 45, tzinfo=UTC), "disconnect", "2026-12-08 fault disconnect"),   # 23:45 EST
        (datetime(2026, 12, 9, 5, 30, tzinfo=UTC), "nightly_reset", "2026-12-09 fault nightly_reset"),  # 00:30
    ]
    day = load_scenario(SCENARIOS / "normal-day.yaml")
    assert not day.overnight
    assert day.span()[1] - day.span()[0] == timedelta(hours=7, minutes=20)
